import { describe, expect, it } from 'vitest';
import { startTicker } from './ticker.js';

const silent = { warn: () => undefined };

describe('startTicker', () => {
  it('runs a round at once, goes on after a failed one, and stops mid-round without waiting out the interval', async () => {
    const warnings: string[] = [];
    let rounds = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const ticker = startTicker({
      intervalMs: 1,
      log: { warn: (_obj, msg) => void warnings.push(String(msg)) },
      failure: 'round failed',
      round: async () => {
        rounds += 1;
        if (rounds === 1) throw new Error('boom');
        if (rounds === 2) await held;
      },
    });
    while (rounds < 2) await new Promise((r) => setTimeout(r, 1));
    const stopping = ticker.stop();
    release();
    await stopping;
    expect(rounds).toBe(2);
    expect(warnings).toEqual(['round failed']);
  });

  it('with waitFirst, waits an interval before the first round; stopped before it, runs none', async () => {
    let rounds = 0;
    const ticker = startTicker({ intervalMs: 600_000, log: silent, failure: 'x', waitFirst: true, round: async () => void (rounds += 1) });
    await ticker.stop(); // would wait ten minutes if the stop did not cut the wait short
    expect(rounds).toBe(0);
  });
});
