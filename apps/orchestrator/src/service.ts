import type { Registry } from 'prom-client';
import { parseApiTokens } from '@vigil/platform';
import { fileURLToPath } from 'node:url';
import type { Bus, ConsumeOptions } from '@vigil/bus';
import type { Cache } from '@vigil/cache';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import type { Logger } from '@vigil/platform';
import type { OrchestratorConfig } from './config.js';
import { startDeadlineTimer } from './deadline-timer.js';
import type { SagaConfig } from './domain/saga-config.js';
import { createSagaHandlers } from './handlers/saga-input.handler.js';
import { consoleRoutes } from './http/console.routes.js';
import { createApproverClient } from './http/console/approver-client.js';
import { incidentRoutes } from './http/incidents.routes.js';
import { startOutboxRelay } from './outbox-relay.js';
import type { Policy } from './policy-file.js';
import { createOrchestratorMetrics } from './metrics.js';
import { processInput, type SagaDeps } from './saga-runner.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export function sagaConfigFrom(config: OrchestratorConfig, policy: Policy): SagaConfig {
  return {
    deadlinesMs: {
      INVESTIGATING: config.DEADLINE_INVESTIGATING_MS,
      HYPOTHESIS_RECEIVED: config.DEADLINE_HYPOTHESIS_RECEIVED_MS,
      SYNTHESIZING: config.DEADLINE_SYNTHESIZING_MS,
      AWAITING_APPROVAL: config.DEADLINE_AWAITING_APPROVAL_MS,
      EXECUTING: config.DEADLINE_EXECUTING_MS,
      VERIFYING: config.DEADLINE_VERIFYING_MS,
    },
    clericWaitMs: config.CLERIC_WAIT_MS,
    approvalTtlMs: config.APPROVAL_TTL_MS,
    stabilityWindowMs: config.STABILITY_WINDOW_MS,
    contextLimit: config.CONTEXT_LIMIT,
    proof: {
      consecutivePasses: config.PROOF_CONSECUTIVE_PASSES,
      roundIntervalMs: config.PROOF_ROUND_INTERVAL_MS,
      deadlineMs: config.PROOF_DEADLINE_MS,
      concurrency: config.PROOF_CONCURRENCY,
    },
    thresholdsFor: (service) => policy.thresholdsFor(service),
    autonomyFor: (service, alert, action) => policy.autonomyFor(service, alert, action),
  };
}

export interface Orchestrator {
  consumer: Omit<ConsumeOptions, 'durable'>;
  routes: ReturnType<typeof incidentRoutes>;
  deps: SagaDeps;
  /** Stops the relay and the timers (after the consumers, before the bus closes). */
  stop(): Promise<void>;
}

/** Wiring only: migrations, the saga's dependencies, its consumer, relay, timers and routes. */
export async function buildOrchestrator(input: {
  config: OrchestratorConfig;
  policy: Policy;
  db: Db;
  bus: Bus;
  cache: Cache;
  log: Logger;
  clock?: () => Date;
  /** Where the orchestrator's own metrics are registered (the service's registry). */
  registry?: Registry;
}): Promise<Orchestrator> {
  const { config, db, bus, cache, log } = input;
  await migrate(db, await loadMigrations(migrationsDir));
  await loadParsers();
  const relay = startOutboxRelay({ db, bus, log: log.child({ component: 'outbox' }), intervalMs: config.ORCHESTRATOR_RELAY_INTERVAL_MS });
  const deps: SagaDeps = {
    db,
    cache,
    config: sagaConfigFrom(config, input.policy),
    safety: createSafetyCheck(),
    clock: input.clock ?? (() => new Date()),
    ...(config.ORCHESTRATOR_RELAY_ON_COMMIT ? { onCommitted: () => relay.kick() } : {}),
    ...(input.registry ? { observe: createOrchestratorMetrics(input.registry, db).observe } : {}),
  };
  const timer = startDeadlineTimer({
    db,
    log: log.child({ component: 'deadlines' }),
    intervalMs: config.ORCHESTRATOR_TIMER_INTERVAL_MS,
    clock: deps.clock,
    fire: (deadline) => processInput(deps, deadline),
  });
  const tokens = parseApiTokens(config.ORCHESTRATOR_API_TOKENS, 'ORCHESTRATOR_API_TOKENS');
  return {
    consumer: {
      concurrency: config.ORCHESTRATOR_CONCURRENCY,
      ackWaitMs: config.ORCHESTRATOR_ACK_WAIT_MS,
      handlers: createSagaHandlers(deps),
    },
    routes: async (app) => {
      // Each in its own scope: the API's JSON refusals and the console's pages guard only their own routes.
      await app.register(incidentRoutes(deps, tokens));
      await app.register(
        consoleRoutes(deps, tokens, {
          ...(config.APPROVER_URL
            ? { approver: createApproverClient({ url: config.APPROVER_URL, timeoutMs: config.APPROVER_TIMEOUT_MS }) }
            : {}),
        }),
      );
    },
    deps,
    async stop() {
      await timer.stop();
      await relay.stop();
    },
  };
}
