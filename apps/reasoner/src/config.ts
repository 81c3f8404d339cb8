import { z } from 'zod';
import { env, infrastructureConfig } from '@vigil/platform';

/** The reasoner's configuration: the shared infrastructure variables plus these. */
export const reasonerConfig = {
  ...infrastructureConfig,
  REASONER_HOST: z.string().default('0.0.0.0'),
  REASONER_PORT: env.port(7405),
  REASONER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
};
