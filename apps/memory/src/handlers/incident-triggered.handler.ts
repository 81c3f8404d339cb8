import type { EventHandler } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { fireOf } from '../domain/learning.js';
import { recordFire } from '../incident-store.js';

/**
 * `incident.triggered` → a firing of the alert: one that comes back inside the stability window of
 * a fix marks that fix ineffective ("tried, did not hold"). Idempotent: firings are keyed by event
 * id and a fix already marked keeps its earliest re-fire.
 */
export function createIncidentTriggeredHandler(deps: { db: Db; clock: () => Date }): EventHandler<'incident.triggered'> {
  return async (event, ctx) => {
    const changed = await recordFire(deps.db, fireOf(event), deps.clock());
    for (const record of changed) {
      ctx.log.warn(
        { fix: record.incidentId, refiredAt: record.refiredAt?.toISOString(), dedupKey: record.dedupKey },
        'the alert re-fired inside the stability window: the fix did not hold',
      );
    }
  };
}
