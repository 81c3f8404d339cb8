import { afterAll, expect, it } from 'vitest';
import { redisUrl, uniqueName } from '@vigil/testing';
import { openCache } from '../src/infrastructure.js';

/**
 * Two deployments on one Redis (staging beside production, or two test runs) each keep their own
 * blast-radius budget: the orchestrator's keys carry the deployment's prefix, as its subjects do.
 * Found by the engine's faults test: runs that shared a Redis used up one hourly budget of
 * automatic fixes for payment-api between them, and a later run's healthy incident waited for a
 * human instead.
 */
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers) await close();
});

it('windows and dedup keys on a shared Redis are per deployment prefix', async () => {
  const url = await redisUrl();
  const [staging, production] = [uniqueName('staging'), uniqueName('production')];
  const open = async (prefix: string) => {
    const cache = await openCache({ REDIS_URL: url, VIGIL_SUBJECT_PREFIX: prefix }, { prefix: 'vigil:orchestrator:' });
    closers.push(() => cache.close());
    return cache;
  };
  const a = await open(staging);
  const b = await open(production);
  const budget = `budget:${uniqueName('payment-api')}`;
  for (let i = 0; i < 3; i += 1) await a.addToWindow(budget, 3_600_000, 1);
  expect(await a.addToWindow(budget, 3_600_000, 0)).toBe(3);
  expect(await b.addToWindow(budget, 3_600_000, 0)).toBe(0);
  expect(await a.setIfAbsent('dedup:x', '1', 60_000)).toBe(true);
  expect(await b.setIfAbsent('dedup:x', '1', 60_000)).toBe(true);
  // The same prefix is the same deployment: a second copy sees the first one's count.
  expect(await (await open(staging)).addToWindow(budget, 3_600_000, 0)).toBe(3);
  await Promise.all([a.delete(budget), a.delete('dedup:x'), b.delete('dedup:x')]);
});
