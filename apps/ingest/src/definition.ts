import { openCache, type ServiceDefinition, startService } from '@vigil/platform';
import { ingestConfig } from './config.js';
import { IngestMetrics } from './metrics.js';
import { buildIngestRoutes } from './service.js';
import { createPagerDutyRest } from './writeback/pagerduty-rest.client.js';
import { createWriteBackConsumer } from './writeback/writeback.consumer.js';

const version = '0.1.0';

/** The ingest as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const ingestService: ServiceDefinition<typeof ingestConfig> = {
  name: 'ingest',
  version,
  config: ingestConfig,
  async start({ config, log, metrics, bus }) {
    const cache = await openCache(config, { prefix: 'vigil:ingest:' });
    const deps = {
      bus,
      cache,
      log,
      metrics: new IngestMetrics(metrics),
      redeliveryMemoryMs: config.INGEST_REDELIVERY_MEMORY_MS,
      retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
    };
    const writeBack =
      config.PAGERDUTY_API_KEY && config.PAGERDUTY_FROM_EMAIL
        ? createWriteBackConsumer({
            cache,
            pagerduty: createPagerDutyRest({
              apiUrl: config.PAGERDUTY_API_URL,
              apiKey: config.PAGERDUTY_API_KEY,
              fromEmail: config.PAGERDUTY_FROM_EMAIL,
            }),
          })
        : undefined;
    log.info({ pagerdutyWriteBack: writeBack !== undefined }, 'PagerDuty write-back');
    const service = await startService({
      name: 'ingest',
      version,
      host: config.INGEST_HOST,
      port: config.INGEST_PORT,
      bodyLimitBytes: config.INGEST_BODY_LIMIT_BYTES,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: writeBack ? [writeBack] : [],
      dependencies: { cache: () => cache.health() },
      closers: [{ name: 'cache', close: () => cache.close() }],
      routes: buildIngestRoutes(deps, config),
    });
    return service;
  },
};
