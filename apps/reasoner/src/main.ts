import { bootService, runMain, startService, stopOnSignals } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { reasonerConfig } from './config.js';
import { buildReasoner } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('reasoner', version, reasonerConfig, { planner: 'runbook-planner' });
  await loadParsers();
  const service = await startService({
    name: 'reasoner',
    version,
    host: config.REASONER_HOST,
    port: config.REASONER_PORT,
    logger: log,
    metrics,
    bus,
    consumers: [buildReasoner({ bus, safety: createSafetyCheck() }, { concurrency: config.REASONER_CONCURRENCY })],
  });
  stopOnSignals(service, log, config.SHUTDOWN_TIMEOUT_MS);
});
