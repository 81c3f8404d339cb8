import { z } from 'zod';
import { PREFIX_PATTERN, PREFIX_RULE } from '@vigil/events';
import { createMemoryInbox, createNatsBus, MemoryBus, type Bus, type BusObserver, type Inbox } from '@vigil/bus';
import { createMemoryCache, createRedisCache, type Cache } from '@vigil/cache';
import { createDbInbox, openDb, type Db } from '@vigil/db';
import { env, secret } from './config.js';
import type { Logger } from './logger.js';

/**
 * The variables that pick the infrastructure. Unset means the embedded default: the in-process
 * bus, PGlite, the in-memory cache — so Vigil runs with no infrastructure at all.
 * URLs are secret because they can carry credentials.
 */
export const infrastructureConfig = {
  NATS_URL: secret(env.url(['nats', 'tls', 'ws', 'wss']).optional()),
  /** Names this deployment on shared infrastructure: its subjects, streams and Redis keys all carry it. */
  VIGIL_SUBJECT_PREFIX: z.string().regex(PREFIX_PATTERN, PREFIX_RULE).optional(),
  VIGIL_STREAM_MAX_AGE_MS: env.durationMs(7 * 24 * 3600_000),
  DATABASE_URL: secret(env.url(['postgres', 'postgresql']).optional()),
  /** Prepare each statement once per connection; `false` behind PgBouncer in transaction mode before 1.21. */
  DATABASE_PREPARED_STATEMENTS: env.flag(true),
  /** Where PGlite keeps its data when DATABASE_URL is unset; in memory when this is unset too. */
  VIGIL_DATA_DIR: z.string().optional(),
  /** PGlite (no DATABASE_URL) runs on a worker thread of its own, beside the service's event loop. */
  DATABASE_PGLITE_THREAD: env.flag(true),
  REDIS_URL: secret(env.url(['redis', 'rediss']).optional()),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.durationMs(25_000),
  /** The incident console (e.g. http://127.0.0.1:7402/console), linked from every service's status page. */
  VIGIL_CONSOLE_URL: env.url(['http', 'https']).optional(),
};

export type InfrastructureConfig = z.output<z.ZodObject<typeof infrastructureConfig>>;

export async function connectBus(
  config: Pick<InfrastructureConfig, 'NATS_URL' | 'VIGIL_SUBJECT_PREFIX' | 'VIGIL_STREAM_MAX_AGE_MS'>,
  options: { name: string; logger: Logger; observer?: BusObserver },
): Promise<Bus> {
  const common = {
    ...(config.VIGIL_SUBJECT_PREFIX === undefined ? {} : { prefix: config.VIGIL_SUBJECT_PREFIX }),
    logger: options.logger.child({ component: 'bus' }),
    ...(options.observer ? { observer: options.observer } : {}),
  };
  if (!config.NATS_URL) return new MemoryBus(common);
  return createNatsBus({ url: config.NATS_URL, name: options.name, maxAgeMs: config.VIGIL_STREAM_MAX_AGE_MS, ...common });
}

export function openStore(
  config: Pick<InfrastructureConfig, 'DATABASE_URL' | 'DATABASE_PREPARED_STATEMENTS' | 'VIGIL_DATA_DIR'> &
    Partial<Pick<InfrastructureConfig, 'DATABASE_PGLITE_THREAD'>>,
  options: { schema: string },
): Promise<Db> {
  return openDb({
    url: config.DATABASE_URL,
    dataDir: config.VIGIL_DATA_DIR,
    schema: options.schema,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
    ...(config.DATABASE_PGLITE_THREAD === undefined ? {} : { pgliteThread: config.DATABASE_PGLITE_THREAD }),
  });
}

/**
 * The cache for a service. On a shared Redis, keys carry the deployment's prefix (as its subjects
 * do): two deployments — staging beside production, or two test runs — never share a blast-radius
 * budget, a loop count or a dedup key.
 */
export function openCache(
  config: Pick<InfrastructureConfig, 'REDIS_URL' | 'VIGIL_SUBJECT_PREFIX'>,
  options: { prefix: string },
): Promise<Cache> {
  const prefix = config.VIGIL_SUBJECT_PREFIX ? `${config.VIGIL_SUBJECT_PREFIX}:${options.prefix}` : options.prefix;
  if (!config.REDIS_URL) return Promise.resolve(createMemoryCache({ prefix }));
  return createRedisCache({ url: config.REDIS_URL, prefix });
}

/** The inbox for a service: in its store when it has one, else in memory. */
export function inboxFor(db: Db | undefined): Inbox {
  return db ? createDbInbox(db) : createMemoryInbox();
}
