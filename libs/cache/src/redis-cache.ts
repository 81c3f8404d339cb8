import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { VigilError } from '@vigil/errors';
import { checkTtl, type Cache, type Lock } from './port.js';

// Sliding window in a sorted set scored by the server's clock (so copies on different hosts
// agree). Members carry their amount after the last ':'.
const WINDOW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if amount > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. ARGV[2])
end
local total = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  total = total + tonumber(string.match(member, ':(%d+)$'))
end
redis.call('PEXPIRE', KEYS[1], window)
return total
`;

// Only the holder (same token) may release or extend a lock.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end
`;
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end
`;

export interface RedisCacheOptions {
  /** e.g. `redis://127.0.0.1:6379/0` */
  url: string;
  /** Namespace for every key (tenants, tests). */
  prefix?: string;
}

/** The Redis cache. Connects at once and fails fast with CACHE_UNAVAILABLE if it cannot. */
export async function createRedisCache(options: RedisCacheOptions): Promise<Cache> {
  const redis = new Redis(options.url, {
    keyPrefix: options.prefix ?? '',
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // Commands issued in the same tick (many concurrent requests) go out in one write.
    enableAutoPipelining: true,
  });
  // Connection errors surface as rejected commands; the 'error' event must not crash the process.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new VigilError('CACHE_UNAVAILABLE', `cannot reach Redis: ${(error as Error).message}`, {
      retryable: true,
      retryAfterMs: 1000,
      cause: error,
    });
  }

  const lockFor = (key: string, token: string): Lock => ({
    key,
    token,
    release: async () => (await redis.eval(RELEASE_SCRIPT, 1, key, token)) === 1,
    extend: async (ttlMs) => (await redis.eval(EXTEND_SCRIPT, 1, key, token, String(checkTtl(ttlMs)))) === 1,
  });

  return {
    kind: 'redis',
    async setIfAbsent(key, value, ttlMs) {
      return (await redis.set(key, value, 'PX', checkTtl(ttlMs), 'NX')) === 'OK';
    },
    get: (key) => redis.get(key),
    async delete(key) {
      await redis.del(key);
    },
    async addToWindow(key, windowMs, amount = 1) {
      if (!Number.isInteger(amount) || amount < 0) throw new Error(`amount must be a whole number >= 0, got ${amount}`);
      return Number(await redis.eval(WINDOW_SCRIPT, 1, key, String(checkTtl(windowMs, 'windowMs')), String(amount), randomUUID()));
    },
    async acquireLock(key, ttlMs) {
      const token = randomUUID();
      const ok = await redis.set(key, token, 'PX', checkTtl(ttlMs), 'NX');
      return ok === 'OK' ? lockFor(key, token) : null;
    },
    async health() {
      try {
        await redis.ping();
        return { ok: true, detail: `Redis ${options.url.replace(/\/\/[^@]*@/, '//')}` };
      } catch (error) {
        return { ok: false, detail: `Redis not answering: ${(error as Error).message}` };
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
