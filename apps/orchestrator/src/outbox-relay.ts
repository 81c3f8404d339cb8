import type { Bus } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { isVigilError } from '@vigil/errors';
import type { VigilEvent } from '@vigil/events';
import type { Logger } from '@vigil/platform';

export interface OutboxRelay {
  /** Publish now rather than at the next interval. */
  kick(): void;
  /** Finishes the batch in hand, then stops. */
  stop(): Promise<void>;
  /** Publishes everything pending once; resolves with how many were published. */
  drain(): Promise<number>;
}

/**
 * Publishes the outbox to the bus. A batch is locked (SKIP LOCKED: copies share the work),
 * published in order (sent back to back, acknowledged together), then marked; a crash between publishing and marking republishes the same
 * event ids, which JetStream de-duplicates — so each command is published exactly once. With
 * several copies, batches go out side by side, so order holds within a batch, not across copies;
 * an incident's next command only follows an answer to the previous one, so that is enough.
 */
export function startOutboxRelay(options: { db: Db; bus: Bus; log: Logger; intervalMs: number; batchSize?: number }): OutboxRelay {
  const { db, bus, log } = options;
  const batchSize = options.batchSize ?? 100;
  let stopped = false;
  let wake: (() => void) | undefined;
  let kicked = false;

  const relayBatch = (): Promise<number> =>
    db.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: string; event: unknown }>(
        'SELECT seq, event FROM outbox WHERE published_at IS NULL AND failed_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED',
        [batchSize],
      );
      // Sent back to back on one connection (stored in this order), then their acks awaited
      // together: a batch costs one round trip, not one per event.
      const attempts = await Promise.all(
        rows.map(async (row) => {
          try {
            // The bus checks the event before it publishes it (an invalid one is refused, not retried).
            await bus.publish(row.event as VigilEvent);
            return { row, error: undefined };
          } catch (error) {
            return { row, error };
          }
        }),
      );
      const published: string[] = [];
      let stalled = false;
      for (const { row, error } of attempts) {
        if (error === undefined) {
          published.push(row.seq);
          continue;
        }
        // The bus is down: retry later (what did get through is stored once, by event id).
        if (isVigilError(error) && error.retryable) {
          stalled = true;
          continue;
        }
        // This row can never be published (invalid, too large): set it aside with its error so
        // it does not block every command behind it.
        log.error({ err: error, seq: row.seq }, 'outbox event cannot be published; set aside');
        await tx.query('UPDATE outbox SET failed_at = now(), error = $2 WHERE seq = $1', [
          row.seq,
          (error as Error).message.slice(0, 2000),
        ]);
      }
      if (published.length > 0) await tx.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', [published]);
      // A stalled batch ends this drain; the interval (or the next commit) tries again.
      return stalled ? 0 : rows.length;
    });

  const drain = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await relayBatch();
      total += n;
      if (n < batchSize) return total;
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        const published = await drain();
        if (published > 0) log.debug({ published }, 'outbox published');
      } catch (error) {
        log.warn({ err: error }, 'outbox relay failed; will retry');
      }
      if (stopped) break;
      if (!kicked) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, options.intervalMs).unref();
        });
      }
      kicked = false;
    }
  })();

  return {
    kick() {
      kicked = true;
      wake?.();
    },
    drain,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
