/** Where a failed round is reported. */
export interface TickerLog {
  warn(obj: object, msg?: string): void;
}

export interface Ticker {
  /** Cuts the wait short; resolves once a round in progress has ended. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Background work in rounds (sweeps, timers, polls): `round` runs every `intervalMs` until
 * stopped — at once first, or after the first interval with `waitFirst`. A failed round is
 * logged with `failure` and tried again the next time; it never ends the loop.
 */
export function startTicker(options: {
  intervalMs: number;
  round: () => Promise<unknown>;
  log: TickerLog;
  failure: string;
  waitFirst?: boolean;
}): Ticker {
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (): Promise<void> =>
    new Promise<void>((resolve) => {
      // Stopped during the round: nothing to wait for.
      if (stopped) return resolve();
      wake = resolve;
      setTimeout(resolve, options.intervalMs).unref();
    });
  const loop = (async () => {
    if (options.waitFirst) await pause();
    while (!stopped) {
      await options.round().catch((error: unknown) => options.log.warn({ err: error }, options.failure));
      await pause();
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
