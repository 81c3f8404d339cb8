import { bootService, openCache, openStore, runMain, startService, stopOnSignals } from '@vigil/platform';
import { orchestratorConfig } from './config.js';
import { loadPolicy } from './policy-file.js';
import { buildOrchestrator } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('orchestrator', version, orchestratorConfig);
  const policy = await loadPolicy(config.VIGIL_POLICY_FILE);
  const db = await openStore(config, { schema: config.ORCHESTRATOR_DB_SCHEMA });
  const cache = await openCache(config, { prefix: 'vigil:orchestrator:' });
  if (config.DATABASE_URL && !config.REDIS_URL) {
    // Budgets and loop counts would then be per process: several copies would each allow the full budget.
    log.warn(
      'DATABASE_URL is set but REDIS_URL is not: blast-radius budgets are counted per process; set REDIS_URL when running more than one copy',
    );
  }
  const orchestrator = await buildOrchestrator({ config, policy, db, bus, cache, log });
  const service = await startService({
    name: 'orchestrator',
    version,
    host: config.ORCHESTRATOR_HOST,
    port: config.ORCHESTRATOR_PORT,
    logger: log,
    metrics,
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
  stopOnSignals(service, log, config.SHUTDOWN_TIMEOUT_MS);
});
