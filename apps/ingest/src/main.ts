import { bootService, openCache, runMain, startService, stopOnSignals } from '@vigil/platform';
import { ingestConfig } from './config.js';
import { IngestMetrics } from './metrics.js';
import { buildIngestRoutes } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('ingest', version, ingestConfig);
  const cache = await openCache(config, { prefix: 'vigil:ingest:' });
  const deps = {
    bus,
    cache,
    log,
    metrics: new IngestMetrics(metrics),
    redeliveryMemoryMs: config.INGEST_REDELIVERY_MEMORY_MS,
    retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
  };
  const service = await startService({
    name: 'ingest',
    version,
    host: config.INGEST_HOST,
    port: config.INGEST_PORT,
    bodyLimitBytes: config.INGEST_BODY_LIMIT_BYTES,
    logger: log,
    metrics,
    bus,
    dependencies: { cache: () => cache.health() },
    closers: [{ name: 'cache', close: () => cache.close() }],
    routes: buildIngestRoutes(deps, config),
  });
  stopOnSignals(service, log, config.SHUTDOWN_TIMEOUT_MS);
});
