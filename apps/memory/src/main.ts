import { bootService, openStore, runMain, startService, stopOnSignals } from '@vigil/platform';
import { memoryConfig } from './config.js';
import { buildMemory, ingestDirectory, starterRunbooksDir } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('memory', version, memoryConfig);
  const db = await openStore(config, { schema: config.MEMORY_DB_SCHEMA });
  const memory = await buildMemory({ bus, db }, { concurrency: config.MEMORY_CONCURRENCY });
  const ingested = await ingestDirectory(db, config.MEMORY_RUNBOOKS_DIR ?? starterRunbooksDir);
  log.info({ runbooks: ingested }, 'runbooks ingested');
  const service = await startService({
    name: 'memory',
    version,
    host: config.MEMORY_HOST,
    port: config.MEMORY_PORT,
    logger: log,
    metrics,
    bus,
    consumers: [memory.consumer],
    dependencies: { db: () => db.health() },
    routes: memory.routes,
    closers: [{ name: 'db', close: () => db.close() }],
  });
  stopOnSignals(service, log, config.SHUTDOWN_TIMEOUT_MS);
});
