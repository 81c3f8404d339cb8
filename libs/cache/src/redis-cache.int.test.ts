import { expect, it } from 'vitest';
import { isVigilError } from '@vigil/errors';
import { redisUrl, uniqueName } from '@vigil/testing';
import { cacheContract } from './cache.contract.js';
import type { Cache } from './port.js';
import { createRedisCache } from './redis-cache.js';

cacheContract('Redis', async () => {
  const url = await redisUrl();
  const prefix = `${uniqueName('cache')}:`;
  const clients: Cache[] = [];
  const open = async (): Promise<Cache> => {
    const cache = await createRedisCache({ url, prefix });
    clients.push(cache);
    return cache;
  };
  const cache = await open();
  return { cache, peer: open, cleanup: async () => void (await Promise.all(clients.map((c) => c.close()))) };
});

it('an unreachable Redis is a retryable CACHE_UNAVAILABLE', async () => {
  const error = await createRedisCache({ url: 'redis://127.0.0.1:1' }).catch((e: unknown) => e);
  expect(isVigilError(error, 'CACHE_UNAVAILABLE')).toBe(true);
});
