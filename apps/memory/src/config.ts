import { z } from 'zod';
import { env, infrastructureConfig } from '@vigil/platform';

/** memory's configuration: the shared infrastructure variables plus these. */
export const memoryConfig = {
  ...infrastructureConfig,
  MEMORY_HOST: z.string().default('0.0.0.0'),
  MEMORY_PORT: env.port(7404),
  MEMORY_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier')
    .default('memory'),
  /** Runbooks ingested at start (idempotent); the starter library by default. */
  MEMORY_RUNBOOKS_DIR: z.string().optional(),
  MEMORY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
};
