import { Counter, Registry } from 'prom-client';
import type { Bus, BusLogger, EventHandler } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { createEvent, deterministicUuidv7, type ExecutionCompleted, type ExecutionRequested, type PlanStep } from '@vigil/events';
import { executeStep, inspectTarget, type ExecuteDeps } from './execute.js';
import { checkApproval, isRecordedCompensation, type ApprovalCheck } from './approvals.js';
import { claimExecution, finishExecution, overdueExecutions, takeOverExecution, type ExecutionRecord } from './store.js';

export interface ExecutorDeps extends ExecuteDeps {
  bus: Bus;
  db: Db;
  /** Added to a step's own timeout before a running execution is declared unknown. */
  unknownAfterMs: number;
  /**
   * This copy's clock, for durations only. A claim's start, its deadline and whether it has
   * passed come from the database's clock (see store.ts), never from this one.
   */
  clock?: () => Date;
  registry?: Registry;
}

/**
 * `execution.requested` → `execution.completed`, exactly once per execution id: the id is
 * claimed in the database before anything runs; a redelivered or replayed command gets the
 * recorded result again and never runs the step twice. A claim left `running` past its deadline
 * (the executor died mid-action) is reported as `unknown` — the saga escalates it; nothing is
 * retried blindly.
 */
export function createExecutor(deps: ExecutorDeps) {
  const clock = deps.clock ?? (() => new Date());
  const executions = new Counter({
    name: 'vigil_executor_executions_total',
    help: 'Steps settled, by kind (action name or script language), mode and status.',
    labelNames: ['kind', 'mode', 'status'],
    registers: [deps.registry ?? new Registry()],
  });

  const publish = async (
    record: Pick<ExecutionRecord, 'incidentId' | 'requestEventId' | 'correlationId' | 'startedAt'>,
    result: ExecutionCompleted,
  ) => {
    await deps.bus.publish(
      createEvent('execution.completed', result, {
        source: 'executor',
        incidentId: record.incidentId,
        causedBy: { id: record.requestEventId, correlationId: record.correlationId },
        id: deterministicUuidv7(`executor:${result.executionId}`, record.startedAt.getTime()),
      }),
    );
  };

  const stepTimeout = (step: PlanStep): number =>
    step.kind === 'script' ? deps.scriptLimits.timeoutMs : (deps.actions.get(step.action)?.timeoutMs ?? 60_000);
  /** How long a claim holds: the step's timeout plus the grace before it is declared unknown. */
  const claimMs = (step: PlanStep): number => stepTimeout(step) + deps.unknownAfterMs;

  /**
   * A plan a human approved runs only as approved: its hash must be the approved one; a
   * compensation only if this executor recorded it as the inverse of a step it ran.
   */
  const approvalOf = async (request: ExecutionRequested, incidentId: string): Promise<ApprovalCheck> =>
    request.mode === 'compensate'
      ? (await isRecordedCompensation(deps.db, incidentId, request.step))
        ? { ok: true }
        : { ok: false, final: true, reason: 'this compensation is not the inverse of any step this executor ran for the incident' }
      : checkApproval(deps.db, incidentId, request.planHash, request.approvalRequired);

  const onRequested: EventHandler<'execution.requested'> = async (event, ctx) => {
    const incidentId = event.incidentId;
    if (!incidentId) throw new VigilError('EXECUTION_INVALID', 'execution.requested carries no incidentId', { retryable: false });
    const request = event.data;
    if (request.mode !== 'dry_run') {
      const approval = await approvalOf(request, incidentId);
      if (!approval.ok && !approval.final) {
        throw new VigilError('APPROVAL_NOT_HEARD', `${approval.reason}; trying again`, { retryable: true, retryAfterMs: 1_000 });
      }
      if (!approval.ok) {
        const refusal: ExecutionCompleted = {
          executionId: request.executionId,
          stepId: request.step.id,
          mode: request.mode,
          status: 'refused',
          summary: approval.reason,
          durationMs: 0,
        };
        const claim = await claimExecution(deps.db, {
          executionId: request.executionId,
          incidentId,
          stepId: request.step.id,
          mode: request.mode,
          // Finished at once below; the grace keeps another copy's sweep from settling it meanwhile.
          timeoutMs: deps.unknownAfterMs,
          requestEventId: event.id,
          correlationId: event.correlationId,
        });
        const record = claim.claimed ? await finishExecution(deps.db, refusal) : claim.existing;
        if (record?.result) await publish(record, record.result);
        ctx.log.warn({ executionId: request.executionId, reason: approval.reason }, 'refused: not the approved plan');
        return;
      }
    }
    const began = clock().getTime();
    const claim = await claimExecution(deps.db, {
      executionId: request.executionId,
      incidentId,
      stepId: request.step.id,
      mode: request.mode,
      timeoutMs: claimMs(request.step),
      requestEventId: event.id,
      correlationId: event.correlationId,
      request,
    });
    if (!claim.claimed) {
      const { existing } = claim;
      if (existing.result) {
        ctx.log.info(
          { executionId: request.executionId, status: existing.status },
          'already executed: the recorded result is sent again, nothing runs',
        );
        await publish(existing, existing.result);
      } else {
        ctx.log.warn(
          { executionId: request.executionId },
          'already claimed and not finished: not run again here (the sweeper settles it if its deadline passes)',
        );
      }
      return;
    }
    await runClaimed(request, incidentId, began, claim.record.startedAt, ctx.log);
  };

  /**
   * Runs a step this copy holds the claim of, records the result, and answers. `claimedAt` is
   * when the step was first claimed, as the database stamped it: what began on the target since
   * is not what it was planned against. `began` (this copy's clock) only measures the duration.
   */
  const runClaimed = async (request: ExecutionRequested, incidentId: string, began: number, claimedAt: Date, log: BusLogger) => {
    const outcome = await executeStep(request, incidentId, deps, claimedAt);
    const result: ExecutionCompleted = {
      executionId: request.executionId,
      ...outcome,
      durationMs: Math.max(0, clock().getTime() - began),
    };
    const finished = await finishExecution(deps.db, result);
    if (!finished) {
      // The sweeper settled it while it ran (it outlived its deadline): that stands.
      log.warn(
        { executionId: request.executionId, status: result.status },
        'finished after being settled by the sweeper; that outcome stands',
      );
      return;
    }
    executions.inc({
      kind: request.step.kind === 'action' ? request.step.action : `script.${request.step.language}`,
      mode: request.mode,
      status: result.status,
    });
    log.info(
      { executionId: request.executionId, step: request.step.id, mode: request.mode, status: result.status, summary: result.summary },
      'step settled',
    );
    await publish(finished, result);
  };

  /**
   * Settles executions whose executor died mid-action (their claim outlived its deadline, so the
   * attempt can no longer act). Where the step's action can read its effect from the target: in
   * place → succeeded; provably not → the step runs now, once, in this copy (it takes the claim
   * over first). Otherwise the outcome is unknown, and says so; nothing is run blindly. Overdue
   * is the database's verdict (its clock), so a copy whose own clock runs ahead settles nothing early.
   */
  const sweep = async (): Promise<number> => {
    let swept = 0;
    const readAt = clock().getTime();
    for (const record of await overdueExecutions(deps.db)) {
      // From the claim's start (the database's clock) to now: its age when read, plus this copy's time since.
      const sinceClaimMs = () => Math.round(record.ageMs + Math.max(0, clock().getTime() - readAt));
      const request = record.request;
      const seen = request ? await inspectTarget(request, deps, record.startedAt) : undefined;
      if (request && seen && !seen.done) {
        const began = clock().getTime();
        const held = await takeOverExecution(deps.db, record, claimMs(request.step));
        if (!held) continue;
        // The approval held when the command came in; the plan may have been denied or replaced
        // since. Checked again, as the command's own path does, by the one copy holding the claim.
        const approval = request.mode === 'dry_run' ? ({ ok: true } as const) : await approvalOf(request, record.incidentId);
        if (!approval.ok) {
          const refused = await finishExecution(
            deps.db,
            {
              executionId: record.executionId,
              stepId: record.stepId,
              mode: record.mode,
              status: 'refused',
              summary: `the executor stopped before this step took effect, and it is not run now: ${approval.reason}`,
              durationMs: sinceClaimMs(),
            },
            held,
          );
          if (refused?.result) {
            executions.inc({ kind: 'takeover', mode: refused.result.mode, status: refused.result.status });
            deps.log.warn({ executionId: record.executionId, reason: approval.reason }, 'not taken over: the approval no longer holds');
            await publish(refused, refused.result);
            swept += 1;
          }
          continue;
        }
        deps.log.warn(
          { executionId: record.executionId, incidentId: record.incidentId, target: seen.summary },
          'its executor stopped before the step took effect: running it now',
        );
        await runClaimed(request, record.incidentId, began, record.startedAt, deps.log);
        swept += 1;
        continue;
      }
      // Settled only as read: a copy that took the claim over meanwhile (and may have just run the
      // step, which is what this inspection saw) reports its own outcome.
      const finished = await finishExecution(
        deps.db,
        {
          executionId: record.executionId,
          stepId: record.stepId,
          mode: record.mode,
          durationMs: sinceClaimMs(),
          ...(seen
            ? { status: 'succeeded', summary: `the executor stopped while this step ran; the target shows it took effect: ${seen.summary}` }
            : {
                status: 'unknown',
                summary:
                  'the executor stopped while this step ran (a crash or a restart): whether it took effect is unknown, so it is not retried',
              }),
        },
        record,
      );
      if (finished?.result) {
        executions.inc({ kind: seen ? 'inspected' : 'unknown', mode: finished.result.mode, status: finished.result.status });
        await publish(finished, finished.result);
        swept += 1;
      }
    }
    return swept;
  };

  return { handlers: { 'execution.requested': onRequested }, sweep };
}
