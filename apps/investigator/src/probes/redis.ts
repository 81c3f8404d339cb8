import { Redis } from 'ioredis';
import { describeTarget } from '@vigil/catalog';
import { parseRedisInfo, type RedisInfo } from '../domain/redis-assessment.js';
import { messageOf } from './postgres.js';

/** `INFO` and nothing else: an ACL user with `+info` is all this probe needs. */
export async function readRedisInfo(url: string, timeoutMs: number): Promise<RedisInfo> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // `INFO` with no section omits errorstats on some versions; ask for what we read.
    const sections = await Promise.all(['server', 'clients', 'memory', 'stats', 'errorstats'].map((s) => client.info(s)));
    return parseRedisInfo(sections.join('\n'));
  } catch (error) {
    throw new Error(`${describeTarget(url)}: ${messageOf(error)}`, { cause: error });
  } finally {
    client.disconnect();
  }
}
