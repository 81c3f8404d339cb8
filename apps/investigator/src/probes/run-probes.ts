import { describeTarget, type ServiceEntry } from '@vigil/catalog';
import { assessHttp } from '../domain/http-assessment.js';
import type { ProbeReport } from '../domain/findings.js';
import { assessPostgres, type PostgresThresholds } from '../domain/postgres-assessment.js';
import { assessRedis, type RedisThresholds } from '../domain/redis-assessment.js';
import { checkHealth } from './http.js';
import { readPostgresStats } from './postgres.js';
import { readRedisInfo } from './redis.js';

export interface ProbeSettings {
  timeoutMs: number;
  slowMs: number;
  postgres: PostgresThresholds;
  redis: RedisThresholds;
}

/**
 * Runs a service's probes side by side. Each is bounded by the timeout; one that fails or
 * times out is reported as a failure, and the others still count.
 */
export async function runProbes(entry: ServiceEntry, settings: ProbeSettings): Promise<ProbeReport[]> {
  const bounded = <T>(work: Promise<T>): Promise<T> =>
    Promise.race([
      work,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`timed out after ${settings.timeoutMs}ms`)), settings.timeoutMs + 500).unref(),
      ),
    ]);
  const probe = async (
    kind: ProbeReport['probe'],
    target: string,
    run: () => Promise<Omit<ProbeReport, 'probe' | 'target'>>,
  ): Promise<ProbeReport> => {
    try {
      return { probe: kind, target: describeTarget(target), ...(await bounded(run())) };
    } catch (error) {
      return {
        probe: kind,
        target: describeTarget(target),
        findings: [],
        observations: [],
        checked: [],
        failure: (error as Error).message,
      };
    }
  };
  const runs: Array<Promise<ProbeReport>> = [];
  for (const kind of entry.probes) {
    if (kind === 'postgres' && entry.postgres) {
      const dsn = entry.postgres;
      runs.push(
        probe('postgres', dsn, async () => {
          const { findings, observation } = assessPostgres(await readPostgresStats(dsn, settings.timeoutMs), settings.postgres);
          return {
            findings,
            observations: [{ source: 'postgres.observed', summary: observation, facts: {} }],
            checked: ['postgres-lock', 'postgres-idle', 'postgres-connections'],
          };
        }),
      );
    }
    if (kind === 'redis' && entry.redis) {
      const url = entry.redis;
      runs.push(
        probe('redis', url, async () => {
          const { findings, observation } = assessRedis(await readRedisInfo(url, settings.timeoutMs), settings.redis);
          return {
            findings,
            observations: [{ source: 'redis.observed', summary: observation, facts: {} }],
            checked: ['redis-memory', 'redis-clients'],
          };
        }),
      );
    }
    if (kind === 'http' && entry.health) {
      const url = entry.health;
      runs.push(
        probe('http', url, async () => {
          const { findings, observation } = assessHttp(await checkHealth(url, settings.timeoutMs), settings.slowMs);
          return {
            findings,
            observations: findings.length === 0 ? [{ source: 'http.observed', summary: observation, facts: {} }] : [],
            checked: ['http-symptom'],
          };
        }),
      );
    }
  }
  return Promise.all(runs);
}
