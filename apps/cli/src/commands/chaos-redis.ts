import { Redis } from 'ioredis';
import { VigilError } from '@vigil/errors';
import type { Fault } from './chaos-postgres.js';

/** Every key the fill writes lives under this prefix; release and `vigil chaos stop` delete them. */
export const REDIS_PREFIX = 'vigil-chaos:';

/** Filling a Redis without a memory limit would take the host's memory: only small, bounded ones. */
const MAX_FILLABLE_BYTES = 1024 ** 3;
const VALUE = 'x'.repeat(64 * 1024);
const PHASES = [
  { size: 64 * 1024, batch: 16 },
  { size: 4096, batch: 1 },
  { size: 256, batch: 1 },
  { size: 16, batch: 1 },
];

export const describeRedis = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the Redis URL';
  }
};

function memoryInfo(info: string): { used: number; max: number; policy: string } {
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  return { used: Number(field('used_memory') ?? 0), max: Number(field('maxmemory') ?? 0), policy: field('maxmemory_policy') ?? 'unknown' };
}

async function connect(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new VigilError('CHAOS_REDIS_UNREACHABLE', `${describeRedis(url)}: ${(error as Error).message}`, { cause: error });
  }
}

async function deleteFill(redis: Redis): Promise<number> {
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${REDIS_PREFIX}*`, count: 500 })) {
    if ((keys as string[]).length > 0) deleted += await redis.unlink(...(keys as string[]));
  }
  return deleted;
}

/**
 * Checks that the Redis is fillable (it has a maxmemory, and a small one) before any fault is
 * made; `fill()` then writes values until Redis refuses writes (OOM under noeviction) or has
 * written twice its limit (under an eviction policy, which then evicts other keys too).
 */
export async function prepareRedisFill(url: string): Promise<{ fill(): Promise<Fault>; close(): Promise<void> }> {
  const redis = await connect(url);
  const close = async (): Promise<void> => void (await redis.quit().catch(() => redis.disconnect()));
  const before = memoryInfo(await redis.info('memory'));
  if (before.max === 0 || before.max > MAX_FILLABLE_BYTES) {
    await close();
    throw new VigilError(
      'CHAOS_REDIS_UNBOUNDED',
      `${describeRedis(url)} has ${before.max === 0 ? 'no maxmemory' : `maxmemory ${before.max} bytes (over 1 GiB)`}: filling it would take the host's memory; ` +
        'point --redis-url at a Redis of its own with a low limit (redis-server --maxmemory 64mb)',
    );
  }
  return {
    close,
    async fill() {
      let keys = 0;
      let oom = false;
      let now = before;
      try {
        // Big values first, then ever smaller ones: Redis refuses a write once its memory is over the
        // limit, and the small values close the gap the big ones (and our pipeline's buffer) left.
        // Under an eviction policy no write is ever refused: one pass of twice the limit fills it.
        let budget = before.max * 2;
        for (const { size, batch: batchSize } of PHASES) {
          const value = VALUE.slice(0, size);
          let spent = 0;
          oom = false;
          while (!oom && spent < budget) {
            const batch = redis.pipeline();
            for (let i = 0; i < batchSize; i += 1) batch.set(`${REDIS_PREFIX}fill:${keys + i}`, value);
            for (const [error] of (await batch.exec()) ?? []) {
              if (!error) keys += 1;
              else if (/OOM/.test(error.message)) oom = true;
              else throw error;
            }
            spent += batchSize * size;
          }
          if (!oom) break;
          budget = 2 * size * batchSize;
        }
        now = memoryInfo(await redis.info('memory'));
      } catch (error) {
        await deleteFill(redis).catch(() => undefined);
        await close();
        throw new VigilError('CHAOS_REDIS_FILL_FAILED', `${describeRedis(url)}: ${(error as Error).message}`, { cause: error });
      }
      return {
        report: {
          redis: describeRedis(url),
          prefix: REDIS_PREFIX,
          keys,
          oom,
          used_memory: now.used,
          maxmemory: before.max,
          policy: now.policy,
        },
        sessions: [],
        // Nothing tells us when someone else clears the keys: this part lasts until released.
        ended: new Promise<string>(() => undefined),
        async release() {
          await deleteFill(redis).catch(() => undefined);
          await close();
        },
      };
    },
  };
}

/** Deletes what a fill left behind (after a `vigil chaos` that was killed outright). */
export async function stopRedisFill(url: string): Promise<{ redis: string; deleted_keys: number }> {
  const redis = await connect(url);
  try {
    return { redis: describeRedis(url), deleted_keys: await deleteFill(redis) };
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
