import type { EventHandler } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { learnFromResolution } from '../domain/learning.js';
import { recordResolution } from '../incident-store.js';

/**
 * `incident.resolved` → a learned incident: a candidate fix until its stability window ends (or
 * history, when no fix of ours resolved it). Idempotent: keyed by incident id, so a redelivery or
 * a replay records nothing twice.
 */
export function createIncidentResolvedHandler(deps: {
  db: Db;
  clock: () => Date;
  stabilityWindowMs: number;
}): EventHandler<'incident.resolved'> {
  return async (event, ctx) => {
    if (event.incidentId === null)
      throw new VigilError('EVENT_INVALID', `incident.resolved ${event.id} has no incidentId`, { retryable: false });
    const learned = learnFromResolution({ id: event.id, incidentId: event.incidentId, data: event.data }, deps.stabilityWindowMs);
    const { duplicate, record } = await recordResolution(deps.db, learned, deps.clock());
    ctx.log.info(
      { standing: record.standing, windowEndsAt: record.windowEndsAt?.toISOString(), duplicate, how: record.how },
      duplicate ? 'resolution already recorded' : 'resolution recorded',
    );
  };
}
