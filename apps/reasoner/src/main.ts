import {
  connectBus,
  createLogger,
  describeConfig,
  loadConfig,
  runMain,
  ServiceMetrics,
  startService,
  stopOnSignals,
} from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { reasonerConfig } from './config.js';
import { buildReasoner } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const config = loadConfig(reasonerConfig);
  const log = createLogger({ service: 'reasoner', version, level: config.LOG_LEVEL });
  log.info({ config: describeConfig(reasonerConfig, config), planner: 'runbook-planner' }, 'starting');
  await loadParsers();
  const metrics = new ServiceMetrics('reasoner');
  const bus = await connectBus(config, { name: 'reasoner', logger: log, observer: metrics.observer });
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
