/**
 * Idempotency for handlers: an inbox remembers which events a consumer has processed, so a
 * redelivery (ack lost, process killed after the effect) or a replay never repeats an effect.
 * A store-backed inbox (libs/db) records the event in the same transaction as the effect.
 */
export interface Inbox {
  /** Runs `effect` unless (consumer, eventId) was processed; returns whether it ran. */
  once(consumer: string, eventId: string, effect: () => Promise<void>): Promise<{ duplicate: boolean }>;
}

/** In-memory inbox for single-process mode; forgets on restart, bounded by `maxEntries`. */
export function createMemoryInbox(maxEntries = 100_000): Inbox {
  const seen = new Map<string, true>();
  const running = new Map<string, Promise<void>>();
  return {
    async once(consumer, eventId, effect) {
      const key = `${consumer}\u0000${eventId}`;
      // Two copies racing on one event: the second waits for the first, then sees it done.
      const inFlight = running.get(key);
      if (inFlight) await inFlight.catch(() => undefined);
      if (seen.has(key)) return { duplicate: true };
      const run = effect();
      running.set(key, run);
      try {
        await run;
      } finally {
        running.delete(key);
      }
      seen.set(key, true);
      if (seen.size > maxEntries) {
        const oldest = seen.keys().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
      return { duplicate: false };
    },
  };
}
