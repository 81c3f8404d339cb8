import { bootService, runMain, startService, stopOnSignals } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { reasonerConfig } from './config.js';
import { createAnthropicProvider } from './model/anthropic.js';
import { withCircuitBreaker } from './model/breaker.js';
import { createGeminiProvider } from './model/gemini.js';
import { createOpenAICompatibleProvider } from './model/openai-compatible.js';
import type { ModelProvider } from './model/provider.js';
import { buildReasoner } from './service.js';

const version = '0.1.0';

runMain(async () => {
  const { config, log, metrics, bus } = await bootService('reasoner', version, reasonerConfig);
  await loadParsers();
  const breaker = { failureThreshold: config.REASONER_BREAKER_FAILURES, cooldownMs: config.REASONER_BREAKER_COOLDOWN_MS };
  const providers: ModelProvider[] = [];
  for (const vendor of config.REASONER_PROVIDERS) {
    if (vendor === 'anthropic' && config.ANTHROPIC_API_KEY) {
      const baseURL = config.ANTHROPIC_BASE_URL;
      const provider = createAnthropicProvider({
        apiKey: config.ANTHROPIC_API_KEY,
        model: config.REASONER_ANTHROPIC_MODEL,
        timeoutMs: config.REASONER_MODEL_TIMEOUT_MS,
        ...(baseURL ? { baseURL } : {}),
      });
      providers.push(withCircuitBreaker(provider, breaker));
    }
    if (vendor === 'gemini' && config.GEMINI_API_KEY) {
      const baseURL = config.GOOGLE_GEMINI_BASE_URL;
      const provider = createGeminiProvider({
        apiKey: config.GEMINI_API_KEY,
        model: config.REASONER_GEMINI_MODEL,
        timeoutMs: config.REASONER_MODEL_TIMEOUT_MS,
        ...(baseURL ? { baseURL } : {}),
      });
      providers.push(withCircuitBreaker(provider, breaker));
    }
    if (vendor === 'openai-compatible' && config.OPENAI_COMPATIBLE_BASE_URL) {
      const provider = createOpenAICompatibleProvider({
        // Local servers (Ollama, vLLM) ignore the key, but the SDK requires one.
        apiKey: config.OPENAI_API_KEY ?? 'not-needed',
        model: config.REASONER_OPENAI_MODEL,
        baseURL: config.OPENAI_COMPATIBLE_BASE_URL,
        timeoutMs: config.REASONER_MODEL_TIMEOUT_MS,
      });
      providers.push(withCircuitBreaker(provider, breaker));
    }
  }
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
