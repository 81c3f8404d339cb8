import { openCache, openStore, type ServiceDefinition, startService } from '@vigil/platform';
import { orchestratorConfig } from './config.js';
import { loadPolicy } from './policy-file.js';
import { buildOrchestrator } from './service.js';

const version = '0.1.0';

/** The orchestrator as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const orchestratorService: ServiceDefinition<typeof orchestratorConfig> = {
  name: 'orchestrator',
  version,
  config: orchestratorConfig,
  async start({ config, log, metrics, bus }) {
    const policy = await loadPolicy(config.VIGIL_POLICY_FILE);
    const db = await openStore(config, { schema: config.ORCHESTRATOR_DB_SCHEMA });
    const cache = await openCache(config, { prefix: 'vigil:orchestrator:' });
    if (config.DATABASE_URL && !config.REDIS_URL) {
      // Budgets and loop counts would then be per process: several copies would each allow the full budget.
      log.warn(
        'DATABASE_URL is set but REDIS_URL is not: blast-radius budgets are counted per process; set REDIS_URL when running more than one copy',
      );
    }
    const orchestrator = await buildOrchestrator({ config, policy, db, bus, cache, log, registry: metrics.registry });
    const service = await startService({
      name: 'orchestrator',
      version,
      host: config.ORCHESTRATOR_HOST,
      port: config.ORCHESTRATOR_PORT,
      logger: log,
      metrics,
      // Its own status page links to the console beside it unless told where the console is published.
      consoleUrl: config.VIGIL_CONSOLE_URL ?? '/console',
      bus,
      consumers: [orchestrator.consumer],
      dependencies: { db: () => db.health(), cache: () => cache.health() },
      routes: orchestrator.routes,
      background: [{ name: 'outbox relay and deadlines', stop: () => orchestrator.stop() }],
      closers: [
        { name: 'cache', close: () => cache.close() },
        { name: 'db', close: () => db.close() },
      ],
    });
    return service;
  },
};
