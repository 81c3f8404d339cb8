import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** The reasoner's configuration: the shared infrastructure variables plus these. */
export const reasonerConfig = {
  ...infrastructureConfig,
  REASONER_HOST: z.string().default('0.0.0.0'),
  REASONER_PORT: env.port(7405),
  REASONER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** With a key, Claude plans first; without one (the default) the runbook planner does. */
  ANTHROPIC_API_KEY: secret(z.string().min(1).optional()),
  ANTHROPIC_BASE_URL: env.url(['http', 'https']).optional(),
  REASONER_ANTHROPIC_MODEL: z.string().min(1).default('claude-sonnet-4-5'),
  GEMINI_API_KEY: secret(z.string().min(1).optional()),
  GOOGLE_GEMINI_BASE_URL: env.url(['http', 'https']).optional(),
  REASONER_GEMINI_MODEL: z.string().min(1).default('gemini-2.5-pro'),
  /** An OpenAI-compatible endpoint (OpenAI, Ollama at http://127.0.0.1:11434/v1, vLLM): on when the URL is set. */
  OPENAI_COMPATIBLE_BASE_URL: env.url(['http', 'https']).optional(),
  OPENAI_API_KEY: secret(z.string().min(1).optional()),
  REASONER_OPENAI_MODEL: z.string().min(1).default('llama3.1'),
  /** The service catalog (YAML): its checks, or each service's health URL, join every plan's verification. */
  VIGIL_SERVICE_CATALOG: z.string().min(1).optional(),
  /** Skyflow Detect, on top of the local detectors, before any model: on when all three are set. */
  SKYFLOW_VAULT_ID: z.string().min(1).optional(),
  SKYFLOW_VAULT_URL: env.url(['http', 'https']).optional(),
  SKYFLOW_API_KEY: secret(z.string().min(1).optional()),
  /** Order of preference among the providers that have a key; the runbook planner always comes last. */
  REASONER_PROVIDERS: z
    .string()
    .default('anthropic,gemini,openai-compatible')
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['anthropic', 'gemini', 'openai-compatible']))),
  /** One model call, before falling through to the next provider. */
  REASONER_MODEL_TIMEOUT_MS: env.durationMs(60_000),
  /** Consecutive unavailable answers that make a provider skipped for the cooldown. */
  REASONER_BREAKER_FAILURES: z.coerce.number().int().min(1).default(3),
  REASONER_BREAKER_COOLDOWN_MS: env.durationMs(30_000),
  /** What one incident may spend on models (every provider and repair together). */
  REASONER_BUDGET_CALLS: z.coerce.number().int().min(1).default(6),
  REASONER_BUDGET_TOKENS: z.coerce.number().int().min(1).default(200_000),
  REASONER_BUDGET_MS: env.durationMs(180_000),
};
