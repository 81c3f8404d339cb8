import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { matchesAny } from '../domain/credentials.js';
import { fromEventsV2 } from '../domain/events-v2.js';
import { safely } from '../domain/pagerduty-webhook.js';
import { publishAll, unavailable, type IngestDeps } from './intake.js';
import { rawJsonBodies } from './raw-json.js';

/** PagerDuty's documented error body: `{status, message, errors}`. */
function invalid(reply: FastifyReply, code: number, errors: string[], status = 'invalid event'): FastifyReply {
  return reply.code(code).send({ status, message: 'Event object is invalid', errors });
}

/**
 * `POST /v2/enqueue` — compatible with PagerDuty's Events API v2, so anything that can page
 * PagerDuty (Alertmanager's pagerduty receiver, Datadog, …) can page Vigil. The routing key is
 * the credential: it must be one of VIGIL_ROUTING_KEYS.
 */
export function eventsV2Routes(deps: IngestDeps, routingKeys: readonly string[]) {
  return async (app: FastifyInstance): Promise<void> => {
    rawJsonBodies(app, (_request, reply, error) => {
      deps.metrics.count('events_v2', 'rejected', error.reason);
      return invalid(reply, error.statusCode, [error.message], error.statusCode === 413 ? 'payload too large' : 'invalid event');
    });

    app.post('/v2/enqueue', async (request, reply) => {
      if (routingKeys.length === 0) {
        deps.metrics.count('events_v2', 'rejected', 'not_configured');
        return unavailable(reply, 300, {
          status: 'unavailable',
          message: 'VIGIL_ROUTING_KEYS is not set: this endpoint refuses every event until routing keys are configured',
          errors: ['VIGIL_ROUTING_KEYS is not set'],
        });
      }
      const body = request.body as { routing_key?: unknown } | null;
      const routingKey = typeof body === 'object' && body !== null ? body.routing_key : undefined;
      if (typeof routingKey !== 'string' || routingKey === '') {
        deps.metrics.count('events_v2', 'rejected', 'routing_key_missing');
        return invalid(reply, 400, ["'routing_key' is missing or blank"]);
      }
      if (!matchesAny(routingKey, routingKeys)) {
        deps.metrics.count('events_v2', 'rejected', 'routing_key_unknown');
        return invalid(reply, 403, ["'routing_key' is not an integration key of this Vigil"], 'unauthorized');
      }
      const intake = safely(() =>
        fromEventsV2(request.body, {
          now: new Date(),
          newDedupKey: randomUUID,
          // A tag of the key, not the key: dedup keys are scoped per integration.
          routingScope: createHash('sha256').update(routingKey).digest('hex').slice(0, 12),
        }),
      );
      if (intake.outcome === 'invalid') {
        deps.metrics.count('events_v2', 'rejected', 'schema');
        return invalid(reply, 400, intake.problems);
      }
      const dedupKey = (request.body as { dedup_key?: string }).dedup_key;
      if (intake.outcome === 'ignored') {
        deps.metrics.count('events_v2', 'ignored', 'acknowledge');
        return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
      }
      const published = await publishAll(deps, 'events_v2', intake.events);
      if (!published.ok) {
        return unavailable(reply, published.retryAfterSeconds, {
          status: 'unavailable',
          message: 'The event bus is unavailable; retry later',
          errors: ['bus unavailable'],
        });
      }
      return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: intake.dedupKey });
    });
  };
}
