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
  /** One model call, before falling through to the next provider. */
  REASONER_MODEL_TIMEOUT_MS: env.durationMs(60_000),
};
