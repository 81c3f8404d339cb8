import type { Db, Queryable } from './port.js';

/**
 * The store-backed idempotency inbox (table `vigil_inbox`, from coreMigrations). The event id is
 * recorded in the same transaction as the effect: if the effect fails, nothing is recorded and a
 * redelivery runs it again; once it committed, a redelivery or replay is skipped. Two copies
 * racing on one event serialise on the row: the second waits and then sees a duplicate.
 */
export interface DbInbox {
  once(consumer: string, eventId: string, effect: () => Promise<void>): Promise<{ duplicate: boolean }>;
  /** The same, with the effect's own SQL inside the transaction. */
  onceInTransaction<T>(
    consumer: string,
    eventId: string,
    effect: (tx: Queryable) => Promise<T>,
  ): Promise<{ duplicate: true } | { duplicate: false; value: T }>;
}

export function createDbInbox(db: Db): DbInbox {
  const onceInTransaction = <T>(consumer: string, eventId: string, effect: (tx: Queryable) => Promise<T>) =>
    db.transaction(async (tx) => {
      const claimed = await tx.query('INSERT INTO vigil_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        consumer,
        eventId,
      ]);
      if (claimed.rowCount === 0) return { duplicate: true as const };
      return { duplicate: false as const, value: await effect(tx) };
    });
  return {
    onceInTransaction,
    async once(consumer, eventId, effect) {
      const result = await onceInTransaction(consumer, eventId, () => effect());
      return { duplicate: result.duplicate };
    },
  };
}
