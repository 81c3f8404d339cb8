import { catalogFromConfig } from '@vigil/catalog';
import { openStore, type ServiceDefinition, startService } from '@vigil/platform';
import { investigatorConfig } from './config.js';
import { buildInvestigator } from './service.js';

const version = '0.1.0';

/** The investigator as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const investigatorService: ServiceDefinition<typeof investigatorConfig> = {
  name: 'investigator',
  version,
  config: investigatorConfig,
  async start({ config, log, metrics, bus }) {
    const catalog = await catalogFromConfig(config.VIGIL_SERVICE_CATALOG, process.env);
    if (!config.VIGIL_SERVICE_CATALOG)
      log.warn('VIGIL_SERVICE_CATALOG is not set: no service has probes; hypotheses come from Cleric only');
    log.info({ services: catalog.services().map((s) => ({ name: s.name, probes: s.probes })) }, 'service catalog');
    const db = await openStore(config, { schema: config.INVESTIGATOR_DB_SCHEMA });
    const investigator = await buildInvestigator(
      {
        bus,
        db,
        catalog,
        log,
        registry: metrics.registry,
        cleric: { ids: config.CLERIC_USER_IDS, names: config.CLERIC_USER_NAMES, emails: config.CLERIC_USER_EMAILS },
        probes: {
          timeoutMs: config.INVESTIGATOR_PROBE_TIMEOUT_MS,
          slowMs: config.INVESTIGATOR_HEALTH_SLOW_MS,
          postgres: {
            lockWaitMinS: config.INVESTIGATOR_LOCK_WAIT_MIN_S,
            idleInTransactionMinS: config.INVESTIGATOR_IDLE_IN_TRANSACTION_S,
            saturationRatio: config.INVESTIGATOR_CONNECTION_SATURATION,
          },
          redis: { memoryRatio: config.INVESTIGATOR_REDIS_MEMORY_RATIO, blockedClients: config.INVESTIGATOR_REDIS_BLOCKED_CLIENTS },
        },
      },
      { concurrency: config.INVESTIGATOR_CONCURRENCY, tickMs: config.INVESTIGATOR_TICK_MS },
    );
    const service = await startService({
      name: 'investigator',
      version,
      host: config.INVESTIGATOR_HOST,
      port: config.INVESTIGATOR_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [investigator.consumer],
      dependencies: { db: () => db.health() },
      closers: [investigator.timer, { name: 'db', close: () => db.close() }],
    });
    return service;
  },
};
