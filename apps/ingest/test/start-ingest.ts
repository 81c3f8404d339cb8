import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createRedisCache } from '@vigil/cache';
import { createLogger, ServiceMetrics, startService, type RunningService } from '@vigil/platform';
import { natsUrl, redisUrl, uniqueName } from '@vigil/testing';
import type { IngestConfig } from '../src/config.js';
import { IngestMetrics } from '../src/metrics.js';
import { buildIngestRoutes } from '../src/service.js';

export interface TestIngest {
  url: string;
  bus: Bus;
  natsUrl: string;
  prefix: string;
  stop(): Promise<void>;
}

type Secrets = Pick<IngestConfig, 'PAGERDUTY_WEBHOOK_SECRETS' | 'VIGIL_ROUTING_KEYS' | 'ALERTMANAGER_TOKEN'>;

/** ingest wired exactly as main.ts wires it, on real NATS (own prefix) and real Redis. */
export async function startIngest(secrets: Secrets, options: { nats?: string; bodyLimitBytes?: number } = {}): Promise<TestIngest> {
  const url = options.nats ?? (await natsUrl());
  const prefix = uniqueName('ingest');
  const log = createLogger({ service: 'ingest', level: 'silent' });
  const metrics = new ServiceMetrics('ingest');
  const bus = await createNatsBus({ url, name: 'ingest-test', prefix, publishTimeoutMs: 1500 });
  // A second connection for reading what ingest stored: the test's own view of the stream.
  const reader = await createNatsBus({ url, name: 'ingest-test-reader', prefix });
  const cache = await createRedisCache({ url: await redisUrl(), prefix: `${prefix}:` });
  const service: RunningService = await startService({
    name: 'ingest',
    version: 'test',
    host: '127.0.0.1',
    port: 0,
    logger: log,
    metrics,
    bus,
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    closers: [{ name: 'cache', close: () => cache.close() }],
    routes: buildIngestRoutes(
      { bus, cache, log, metrics: new IngestMetrics(metrics), redeliveryMemoryMs: 60_000, retryAfterSeconds: 7 },
      secrets,
    ),
  });
  return {
    url: service.url,
    bus: reader,
    natsUrl: url,
    prefix,
    async stop() {
      await service.stop();
      await reader.close().catch(() => undefined);
      await deleteNatsStreams({ url, prefix }).catch(() => undefined);
    },
  };
}
