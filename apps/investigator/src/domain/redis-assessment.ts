import { round, type Finding } from './findings.js';

/** `INFO` output as key → value (sections flattened). */
export type RedisInfo = Record<string, string>;

export interface RedisThresholds {
  /** used_memory over maxmemory at which Redis is under memory pressure. */
  memoryRatio: number;
  /** Clients blocked in BLPOP and friends at which it is worth a mention. */
  blockedClients: number;
}

export const defaultRedisThresholds: RedisThresholds = { memoryRatio: 0.9, blockedClients: 50 };

/** Parses `INFO` text: `# Section` headers, `key:value` lines. */
export function parseRedisInfo(text: string): RedisInfo {
  const info: RedisInfo = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) info[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return info;
}

const numberOf = (info: RedisInfo, key: string): number => {
  const value = Number(info[key]);
  return Number.isFinite(value) ? value : 0;
};

/** `errorstat_OOM:count=12` → 12. */
const errorCount = (info: RedisInfo, error: string): number => Number(/count=(\d+)/.exec(info[`errorstat_${error}`] ?? '')?.[1] ?? 0);

const megabytes = (bytes: number): string => `${round(bytes / 1024 / 1024, 1)} MiB`;

export function assessRedis(info: RedisInfo, thresholds: RedisThresholds): { findings: Finding[]; observation: string } {
  const findings: Finding[] = [];
  const used = numberOf(info, 'used_memory');
  const max = numberOf(info, 'maxmemory');
  const policy = info['maxmemory_policy'] ?? 'unknown';
  const evicted = numberOf(info, 'evicted_keys');
  const oom = errorCount(info, 'OOM');
  const ratio = max > 0 ? used / max : 0;
  if ((max > 0 && ratio >= thresholds.memoryRatio) || oom > 0) {
    let confidence = max > 0 ? 0.7 + Math.max(0, ratio - thresholds.memoryRatio) * 2 : 0.7;
    if (evicted > 0 || oom > 0) confidence += 0.05;
    const consequence =
      oom > 0
        ? `${oom} write${oom === 1 ? '' : 's'} refused with OOM (policy ${policy})`
        : evicted > 0
          ? `${evicted} key${evicted === 1 ? '' : 's'} evicted (policy ${policy})`
          : `policy ${policy}`;
    findings.push({
      category: 'redis-memory',
      source: 'redis.memory',
      rootCause: `Redis is out of memory: ${megabytes(used)} used of ${max > 0 ? megabytes(max) : 'no maxmemory'} (${Math.round(ratio * 100)}%); ${consequence}.`,
      summary: `used_memory ${megabytes(used)} / maxmemory ${max > 0 ? megabytes(max) : 'unset'}; ${consequence}`,
      facts: {
        used_memory: used,
        maxmemory: max,
        memory_ratio: round(ratio, 3),
        maxmemory_policy: policy,
        evicted_keys: evicted,
        oom_errors: oom,
      },
      confidence: Math.min(0.92, confidence),
    });
  }
  const blocked = numberOf(info, 'blocked_clients');
  if (blocked >= thresholds.blockedClients) {
    findings.push({
      category: 'redis-clients',
      source: 'redis.clients',
      rootCause: `${blocked} Redis clients are blocked waiting (BLPOP and the like): consumers wait on data that does not come.`,
      summary: `${blocked} blocked clients of ${numberOf(info, 'connected_clients')} connected`,
      facts: { blocked_clients: blocked, connected_clients: numberOf(info, 'connected_clients') },
      confidence: 0.45,
    });
  }
  const observation = `redis ${info['redis_version'] ?? ''}: ${megabytes(used)} used${max > 0 ? ` of ${megabytes(max)}` : ' (no maxmemory)'}, ${evicted} evicted keys, ${oom} OOM errors, ${blocked} blocked clients`;
  return { findings, observation };
}
