import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** ingest's configuration: the shared infrastructure variables plus these. */
export const ingestConfig = {
  ...infrastructureConfig,
  INGEST_HOST: z.string().default('0.0.0.0'),
  INGEST_PORT: env.port(7401),
  /** Largest accepted body, in bytes (PagerDuty sends ≤ 256 KB; Events API v2 allows 512 KB). */
  INGEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024),
  /** PagerDuty webhook subscription secrets, comma-separated (several during rotation). */
  PAGERDUTY_WEBHOOK_SECRETS: secret(env.list()),
  /** Integration keys accepted by /v2/enqueue, comma-separated. */
  VIGIL_ROUTING_KEYS: secret(env.list()),
  /** Bearer token Alertmanager sends to /webhooks/alertmanager. */
  ALERTMANAGER_TOKEN: secret(z.string().min(16, 'at least 16 characters').optional()),
  /** How long delivery ids are remembered to acknowledge redeliveries (PagerDuty retries for 48 h). */
  INGEST_REDELIVERY_MEMORY_MS: env.durationMs(48 * 3600_000),
  INGEST_RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  /** PagerDuty REST API key for write-back (notes, resolve). Write-back is on only with this and the email. */
  PAGERDUTY_API_KEY: secret(z.string().min(1).optional()),
  /** Email of a valid PagerDuty user, sent as `From` on write-back calls. */
  PAGERDUTY_FROM_EMAIL: z.email('an email address').optional(),
  PAGERDUTY_API_URL: z.url().default('https://api.pagerduty.com'),
};

export type IngestConfig = z.output<z.ZodObject<typeof ingestConfig>>;
