import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

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
  /** How long a fix must hold without its alert re-firing before it is proven (keep it equal to the orchestrator's STABILITY_WINDOW_MS). */
  MEMORY_STABILITY_WINDOW_MS: env.durationMs(24 * 3600_000),
  /** How often due candidates are promoted to proven. */
  MEMORY_PROMOTION_INTERVAL_MS: z.coerce.number().int().min(50).default(60_000),
  /** How long each external knowledge source (Sanity, Senso) may take before its answer is left out. */
  MEMORY_KNOWLEDGE_TIMEOUT_MS: z.coerce.number().int().min(50).default(2_000),
  /** Sanity: on when the project id is set. */
  SANITY_PROJECT_ID: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, 'a Sanity project id (lower-case letters, digits and -)')
    .optional(),
  SANITY_DATASET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a Sanity dataset name (lower-case letters, digits, _ and -)')
    .default('production'),
  SANITY_API_TOKEN: secret(z.string().min(1).optional()),
  /** Another API host (a proxy, a test server); the project is then sent as a header. */
  SANITY_API_HOST: env.url(['http', 'https']).optional(),
  SANITY_API_VERSION: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'a dated API version like 2025-02-19')
    .default('2025-02-19'),
  SANITY_DOCUMENT_TYPE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a document type name')
    .default('runbook'),
  /** The Studio's URL, so citations link to the document there. */
  SANITY_STUDIO_URL: env.url(['http', 'https']).optional(),
  /** Senso: on when the key is set. */
  SENSO_API_KEY: secret(z.string().min(1).optional()),
  SENSO_BASE_URL: env.url(['http', 'https']).default('https://sdk.senso.ai/api/v1'),
  /** Push runbooks that are new or changed at start to Senso (`POST /content/raw`). */
  SENSO_INGEST_RUNBOOKS: env.flag(false),
};
