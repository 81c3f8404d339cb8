import type { Db, Queryable } from './port.js';

/**
 * The store-backed idempotency inbox (table `vigil_inbox`, from coreMigrations).
 *
 * - `once`: the bus-level inbox. It checks, runs the effect, then records the event id. No
 *   transaction is held while the handler runs (a handler may use the same store, and a pool
 *   must not be emptied by waiting handlers). A redelivery after the record is skipped; an
 *   effect that failed, or crashed before the record, runs again: at-least-once, de-duplicated.
 * - `onceInTransaction`: exactly once for effects in this same store. The event id is recorded
 *   in the same transaction as the effect's own SQL; two copies racing on one event serialise
 *   on the row and the second sees a duplicate.
 */
export interface DbInbox {
  once(consumer: string, eventId: string, effect: () => Promise<void>): Promise<{ duplicate: boolean }>;
  onceInTransaction<T>(
    consumer: string,
    eventId: string,
    effect: (tx: Queryable) => Promise<T>,
  ): Promise<{ duplicate: true } | { duplicate: false; value: T }>;
}

export function createDbInbox(db: Db): DbInbox {
  const record = (q: Queryable, consumer: string, eventId: string) =>
    q.query('INSERT INTO vigil_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [consumer, eventId]);
  return {
    async once(consumer, eventId, effect) {
      const seen = await db.query('SELECT 1 FROM vigil_inbox WHERE consumer = $1 AND event_id = $2', [consumer, eventId]);
      if (seen.rows.length > 0) return { duplicate: true };
      await effect();
      await record(db, consumer, eventId);
      return { duplicate: false };
    },
    onceInTransaction(consumer, eventId, effect) {
      return db.transaction(async (tx) => {
        const claimed = await record(tx, consumer, eventId);
        if (claimed.rowCount === 0) return { duplicate: true as const };
        return { duplicate: false as const, value: await effect(tx) };
      });
    },
  };
}
