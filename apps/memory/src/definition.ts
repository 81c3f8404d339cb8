import { openStore, startService, type ServiceDefinition } from '@vigil/platform';
import { memoryConfig } from './config.js';
import type { Runbook } from './domain/runbook.js';
import { knowledgeSourcesFrom } from './knowledge/sources.js';
import { buildMemory, ingestDirectory, starterRunbooksDir } from './service.js';

const version = '0.1.0';

/** The memory as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const memoryService: ServiceDefinition<typeof memoryConfig> = {
  name: 'memory',
  version,
  config: memoryConfig,
  async start({ config, log, metrics, bus }) {
    const sources = knowledgeSourcesFrom(config, log);
    log.info({ sources: ['postgres', ...sources.map((s) => s.name)] }, 'knowledge sources');
    const db = await openStore(config, { schema: config.MEMORY_DB_SCHEMA });
    const memory = await buildMemory(
      { bus, db, knowledge: { sources, timeoutMs: config.MEMORY_KNOWLEDGE_TIMEOUT_MS }, registry: metrics.registry },
      { concurrency: config.MEMORY_CONCURRENCY, stabilityWindowMs: config.MEMORY_STABILITY_WINDOW_MS },
    );
    const changed: Runbook[] = [];
    const ingested = await ingestDirectory(db, config.MEMORY_RUNBOOKS_DIR ?? starterRunbooksDir, (runbook, outcome) => {
      if (outcome !== 'unchanged') changed.push(runbook);
    });
    log.info({ runbooks: ingested }, 'runbooks ingested');
    // In the background: start-up never waits on a vendor. Only new and changed runbooks go, so a
    // restart pushes nothing twice (Senso keeps every version it is sent).
    if (config.SENSO_INGEST_RUNBOOKS && changed.length > 0) void memory.retrieval.ingest(changed, log);
    const promotion = memory.startPromotion({ intervalMs: config.MEMORY_PROMOTION_INTERVAL_MS, log });
    const service = await startService({
      name: 'memory',
      version,
      host: config.MEMORY_HOST,
      port: config.MEMORY_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [memory.consumer],
      dependencies: { db: () => db.health() },
      routes: memory.routes,
      background: [{ name: 'promotion', stop: () => promotion.stop() }],
      closers: [{ name: 'db', close: () => db.close() }],
    });
    return service;
  },
};
