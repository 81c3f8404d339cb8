import type { Bus, EventHandler } from '@vigil/bus';
import type { ServiceCatalog } from '@vigil/catalog';
import { VigilError } from '@vigil/errors';
import { createEvent, deterministicUuidv7 } from '@vigil/events';
import { checkProblems } from '../domain/validate.js';
import type { Swarm } from '../swarm.js';

export interface VerificationDeps {
  bus: Bus;
  swarm: Swarm;
  /** The same catalog the swarm reads: whether the service has a database the Postgres checks can read. */
  catalog: ServiceCatalog;
  /** Told of every finished verification (metrics). */
  onCompleted?: (mode: string, passed: boolean) => void;
}

/**
 * `verification.requested` → rounds of the swarm → one `verification.completed`. The answer's id
 * derives from the request's, so a redelivered or replayed request (the checks run again: they
 * have no side effects) publishes an answer JetStream stores once.
 */
export function createVerificationRequestedHandler(deps: VerificationDeps): EventHandler<'verification.requested'> {
  return async (request, ctx) => {
    const problems = checkProblems(request.data.checks, {
      service: request.data.service,
      hasPostgresTarget: deps.catalog.get(request.data.service)?.postgres !== undefined,
    });
    if (problems.length > 0) {
      throw new VigilError('VERIFICATION_INVALID', `verification.requested cannot run: ${problems.join('; ')}`, {
        retryable: false,
        details: { problems },
      });
    }
    const { mode, service, checks, concurrency } = request.data;
    ctx.log.info({ service, mode, checks: checks.map((c) => `${c.kind}:${c.name}`), concurrency }, 'verification started');
    const result = await deps.swarm.verify(request.data, {
      onRound: (round, index) =>
        ctx.log.debug(
          { round: index, attempts: round.attempts, passed: round.passedAttempts, inconclusive: round.inconclusive },
          'round done',
        ),
    });
    await deps.bus.publish(
      createEvent('verification.completed', result, {
        source: 'verifier',
        incidentId: request.incidentId,
        causedBy: request,
        id: deterministicUuidv7(`verifier:${request.id}`, Date.parse(request.occurredAt)),
      }),
    );
    deps.onCompleted?.(mode, result.passed);
    ctx.log.info(
      {
        service,
        mode,
        passed: result.passed,
        passRatio: result.passRatio,
        rounds: result.rounds,
        latencyMs: result.latencyMs,
        failures: result.failures.length,
      },
      'verification completed',
    );
  };
}
