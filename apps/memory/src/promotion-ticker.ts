import type { BusLogger } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { startTicker } from '@vigil/platform';
import { promoteDue, pruneFires } from './incident-store.js';

/**
 * One promotion round: every candidate whose window has ended becomes proven, and firings older
 * than a window are forgotten. Returns the promoted incident ids.
 */
export async function promotionRound(db: Db, now: Date, stabilityWindowMs: number): Promise<string[]> {
  const promoted = await promoteDue(db, now);
  await pruneFires(db, new Date(now.getTime() - stabilityWindowMs));
  return promoted;
}

/**
 * Ends stability windows. The timers are durable because they are rows (`window_ends_at`), not
 * timeouts in this process: each round settles whatever is due, so a window that ended while
 * memory was down is settled by the first round after start, by whichever copy gets there first.
 */
export function startPromotionTicker(options: { round: () => Promise<string[]>; log: BusLogger; intervalMs: number }): {
  stop(): Promise<void>;
} {
  return startTicker({
    intervalMs: options.intervalMs,
    log: options.log,
    failure: 'promotion failed; will retry',
    round: async () => {
      const promoted = await options.round();
      if (promoted.length > 0) options.log.info({ promoted }, 'fixes held through their stability window: proven');
    },
  });
}
