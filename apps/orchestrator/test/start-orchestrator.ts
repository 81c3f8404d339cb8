import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '@vigil/bus';
import { createMemoryCache, type Cache } from '@vigil/cache';
import type { Db } from '@vigil/db';
import { createLogger, loadConfig, ServiceMetrics, startService, type RunningService } from '@vigil/platform';
import { orchestratorConfig } from '../src/config.js';
import { loadPolicy } from '../src/policy-file.js';
import { buildOrchestrator, type Orchestrator } from '../src/service.js';

export interface TestOrchestrator {
  url: string;
  orchestrator: Orchestrator;
  service: RunningService;
  stop(): Promise<void>;
}

/** The orchestrator wired as main.ts wires it, on the given bus and store, listening on a free port. */
export async function startOrchestrator(options: {
  bus: Bus;
  db: Db;
  cache?: Cache;
  env?: Record<string, string>;
}): Promise<TestOrchestrator> {
  // These tests exercise the automatic path: grant it, as an operator would in the policy file.
  const dir = await mkdtemp(join(tmpdir(), 'vigil-policy-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, 'defaults:\n  autonomy: auto\n');
  const config = loadConfig(orchestratorConfig, {
    VIGIL_POLICY_FILE: policyFile,
    ORCHESTRATOR_RELAY_INTERVAL_MS: '100',
    ORCHESTRATOR_TIMER_INTERVAL_MS: '100',
    ...options.env,
  });
  const log = createLogger({ service: 'orchestrator', level: 'silent' });
  const metrics = new ServiceMetrics('orchestrator');
  const cache = options.cache ?? createMemoryCache();
  const orchestrator = await buildOrchestrator({
    config,
    policy: await loadPolicy(config.VIGIL_POLICY_FILE),
    db: options.db,
    bus: options.bus,
    cache,
    log,
    registry: metrics.registry,
  });
  const service = await startService({
    name: 'orchestrator',
    version: 'test',
    host: '127.0.0.1',
    port: 0,
    logger: log,
    metrics,
    bus: options.bus,
    consumers: [orchestrator.consumer],
    routes: orchestrator.routes,
    background: [{ name: 'saga', stop: () => orchestrator.stop() }],
  });
  return { url: service.url, orchestrator, service, stop: () => service.stop() };
}
