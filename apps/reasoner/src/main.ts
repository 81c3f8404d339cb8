import { bootService, runMain, startService, stopOnSignals } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { reasonerConfig } from './config.js';
import { createAnthropicProvider } from './model/anthropic.js';
import { withCircuitBreaker } from './model/breaker.js';
import type { ModelProvider } from './model/provider.js';
import { buildReasoner } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('reasoner', version, reasonerConfig);
  await loadParsers();
  const providers: ModelProvider[] = [];
  if (config.ANTHROPIC_API_KEY)
    providers.push(
      withCircuitBreaker(
        createAnthropicProvider({
          apiKey: config.ANTHROPIC_API_KEY,
          model: config.REASONER_ANTHROPIC_MODEL,
          ...(config.ANTHROPIC_BASE_URL ? { baseURL: config.ANTHROPIC_BASE_URL } : {}),
          timeoutMs: config.REASONER_MODEL_TIMEOUT_MS,
        }),
        { failureThreshold: config.REASONER_BREAKER_FAILURES, cooldownMs: config.REASONER_BREAKER_COOLDOWN_MS },
      ),
    );
  log.info({ planners: [...providers.map((p) => p.name), 'runbook-planner'] }, 'planners in order');
  const service = await startService({
    name: 'reasoner',
    version,
    host: config.REASONER_HOST,
    port: config.REASONER_PORT,
    logger: log,
    metrics,
    bus,
    consumers: [
      buildReasoner(
        {
          bus,
          safety: createSafetyCheck(),
          providers,
          budget: { maxCalls: config.REASONER_BUDGET_CALLS, maxTokens: config.REASONER_BUDGET_TOKENS, maxMs: config.REASONER_BUDGET_MS },
        },
        { concurrency: config.REASONER_CONCURRENCY },
      ),
    ],
  });
  stopOnSignals(service, log, config.SHUTDOWN_TIMEOUT_MS);
});
