import { catalogFromConfig } from '@vigil/catalog';
import { VigilError } from '@vigil/errors';
import { createSkyflowRedactor } from '@vigil/redact';
import { openCache, type ServiceDefinition, startService } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { reasonerConfig } from './config.js';
import { createAnthropicProvider } from './model/anthropic.js';
import { withCircuitBreaker } from './model/breaker.js';
import { createGeminiProvider } from './model/gemini.js';
import { createOpenAICompatibleProvider } from './model/openai-compatible.js';
import type { ModelProvider } from './model/provider.js';
import { cacheBudgetLedger } from './model/budget-ledger.js';
import { buildReasoner } from './service.js';

const version = '0.1.0';

/** The reasoner as a value: `main.ts` runs it alone, the single-process engine beside the others. */
export const reasonerService: ServiceDefinition<typeof reasonerConfig> = {
  name: 'reasoner',
  version,
  config: reasonerConfig,
  async start({ config, log, metrics, bus }) {
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
    const skyflow = [config.SKYFLOW_VAULT_ID, config.SKYFLOW_VAULT_URL, config.SKYFLOW_API_KEY];
    if (skyflow.some(Boolean) && !skyflow.every(Boolean)) {
      throw new VigilError(
        'CONFIG_INVALID',
        'Skyflow needs all of SKYFLOW_VAULT_ID, SKYFLOW_VAULT_URL and SKYFLOW_API_KEY (or none of them)',
        { retryable: false },
      );
    }
    const catalog = await catalogFromConfig(config.VIGIL_SERVICE_CATALOG, process.env);
    const redactor =
      config.SKYFLOW_VAULT_ID && config.SKYFLOW_VAULT_URL && config.SKYFLOW_API_KEY
        ? createSkyflowRedactor({ vaultId: config.SKYFLOW_VAULT_ID, vaultURL: config.SKYFLOW_VAULT_URL, apiKey: config.SKYFLOW_API_KEY })
        : undefined;
    log.info({ redaction: redactor?.name ?? 'local' }, 'redaction before any model');
    // The model budget is per incident: counted where every copy and every redelivery sees it.
    const cache = await openCache(config, { prefix: 'vigil:reasoner:' });
    const service = await startService({
      name: 'reasoner',
      version,
      host: config.REASONER_HOST,
      port: config.REASONER_PORT,
      logger: log,
      metrics,
      consoleUrl: config.VIGIL_CONSOLE_URL,
      bus,
      consumers: [
        buildReasoner(
          {
            bus,
            safety: createSafetyCheck(),
            providers,
            ...(redactor ? { redactor } : {}),
            catalog,
            budget: { maxCalls: config.REASONER_BUDGET_CALLS, maxTokens: config.REASONER_BUDGET_TOKENS, maxMs: config.REASONER_BUDGET_MS },
            ledger: cacheBudgetLedger(cache),
          },
          { concurrency: config.REASONER_CONCURRENCY },
        ),
      ],
      dependencies: { cache: () => cache.health() },
      closers: [{ name: 'cache', close: () => cache.close() }],
    });
    return service;
  },
};
