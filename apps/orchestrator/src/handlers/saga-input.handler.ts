import type { EventHandler, HandlerMap } from '@vigil/bus';
import type { EventType } from '@vigil/events';
import { processInput, type SagaDeps } from '../saga-runner.js';

/** Every event the saga acts on. Its own commands (`*.requested`) are not among them. */
export const sagaInputTypes = [
  'incident.triggered',
  'incident.annotated',
  'incident.resolved.external',
  'hypothesis.received',
  'context.retrieved',
  'remediation.proposed',
  'approval.decided',
  'execution.completed',
  'verification.completed',
] as const satisfies readonly EventType[];

/**
 * One handler for all of them: each event is an input to the same transition, so a file per
 * type would only repeat this line. The inbox lives inside processInput's transaction.
 */
export function createSagaHandlers(deps: SagaDeps): HandlerMap {
  const handle: EventHandler = async (event, ctx) => {
    const outcome = await processInput(deps, { kind: 'event', event });
    if (outcome.duplicate) ctx.log.info({}, 'already processed');
    else if (!outcome.result?.incident) ctx.log.info({}, 'no incident for this event');
    else if (outcome.result.ignored)
      ctx.log.info({ stage: outcome.result.incident.stage }, outcome.result.timeline.at(-1)?.summary ?? 'ignored');
  };
  return Object.fromEntries(sagaInputTypes.map((type) => [type, handle])) as HandlerMap;
}
