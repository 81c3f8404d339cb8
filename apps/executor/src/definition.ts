import { catalogFromConfig } from '@vigil/catalog';
import { VigilError } from '@vigil/errors';
import { openStore, startService, type ServiceDefinition } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { builtInActions } from './actions/index.js';
import { createKubernetesActions } from './actions/k8s.js';
import { createCoderRunner } from './coder/index.js';
import { executorConfig, type ExecutorConfig } from './config.js';
import { createLocalSandbox } from './sandbox/local-sandbox.js';
import type { ScriptRunner } from './sandbox/runner.js';
import { buildExecutor } from './service.js';

const version = '0.1.0';

function scriptRunner(config: ExecutorConfig): { runner?: ScriptRunner; sweep?: () => Promise<unknown> } {
  if (config.EXECUTOR_SANDBOX === 'none') return {};
  if (config.EXECUTOR_SANDBOX === 'local') return { runner: createLocalSandbox() };
  if (!config.CODER_URL || !config.CODER_SESSION_TOKEN || !config.CODER_TEMPLATE_ID) {
    throw new VigilError('CONFIG_INVALID', 'EXECUTOR_SANDBOX=coder needs CODER_URL, CODER_SESSION_TOKEN and CODER_TEMPLATE_ID', {
      retryable: false,
    });
  }
  const coder = createCoderRunner({
    url: config.CODER_URL,
    sessionToken: config.CODER_SESSION_TOKEN,
    templateId: config.CODER_TEMPLATE_ID,
    sshUser: config.CODER_SSH_USER,
  });
  return {
    runner: coder,
    sweep: () => coder.sweepOrphans({ olderThanMs: config.EXECUTOR_SCRIPT_TIMEOUT_MS + config.EXECUTOR_UNKNOWN_AFTER_MS }),
  };
}

/** The executor as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const executorService: ServiceDefinition<typeof executorConfig> = {
  name: 'executor',
  version,
  config: executorConfig,
  async start({ config, log, metrics, bus }) {
    await loadParsers();
    const catalog = await catalogFromConfig(config.VIGIL_SERVICE_CATALOG, process.env);
    const { runner, sweep } = scriptRunner(config);
    if (runner) {
      const available = await runner.available();
      if (!available.ok)
        log.warn({ sandbox: runner.name, reason: available.reason }, 'the sandbox cannot run scripts here: script steps will be refused');
    }
    // Workspaces a crashed executor left behind are deleted before any new run.
    await sweep?.().catch((error: unknown) => log.warn({ err: error }, 'could not sweep orphaned Coder workspaces'));
    const kubernetes = config.EXECUTOR_KUBERNETES === 'on' ? createKubernetesActions({ loadDefault: true }) : [];
    const actions = builtInActions(kubernetes);
    log.info({ actions: [...actions.keys()], sandbox: runner?.name ?? 'none', services: catalog.services().length }, 'executor ready');
    const db = await openStore(config, { schema: config.EXECUTOR_DB_SCHEMA });
    const executor = await buildExecutor(
      {
        bus,
        db,
        log,
        registry: metrics.registry,
        actions,
        safety: createSafetyCheck(),
        catalog,
        ...(runner ? { runner } : {}),
        scriptLimits: {
          timeoutMs: config.EXECUTOR_SCRIPT_TIMEOUT_MS,
          memoryBytes: config.EXECUTOR_SCRIPT_MEMORY_MB * 1024 * 1024,
          cpuSeconds: config.EXECUTOR_SCRIPT_CPU_S,
          outputBytes: config.EXECUTOR_SCRIPT_OUTPUT_BYTES,
        },
        unknownAfterMs: config.EXECUTOR_UNKNOWN_AFTER_MS,
      },
      { concurrency: config.EXECUTOR_CONCURRENCY, sweepMs: config.EXECUTOR_SWEEP_MS },
    );
    return startService({
      name: 'executor',
      version,
      host: config.EXECUTOR_HOST,
      port: config.EXECUTOR_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [executor.consumer],
      dependencies: { db: () => db.health() },
      closers: [executor.sweeper, { name: 'db', close: () => db.close() }],
    });
  },
};
