import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** The verifier's configuration: the shared infrastructure variables plus these. */
export const verifierConfig = {
  ...infrastructureConfig,
  VERIFIER_HOST: z.string().default('0.0.0.0'),
  VERIFIER_PORT: env.port(7407),
  /** Verifications handled at once by this copy (each runs its own rounds). */
  VERIFIER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** The Chromium this process launches when VIGIL_BROWSER_WS is unset. */
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  /** Any CDP endpoint instead of a local Chromium: Lightpanda, a remote Chrome (ws://… or http://…/json/version's host). */
  VIGIL_BROWSER_WS: secret(env.url(['ws', 'wss', 'http', 'https']).optional()),
  /** With VIGIL_BROWSER_WS: one connection for every check (a remote Chrome) instead of one per check (Lightpanda allows one context per connection). */
  VERIFIER_BROWSER_WS_SHARED: env.flag(false),
  /** The service catalog (YAML): a Postgres check reads the database of the service's `postgres:` (a read-only DSN). */
  VIGIL_SERVICE_CATALOG: z.string().min(1).optional(),
  /** Where failure screenshots are written. */
  VERIFIER_SCREENSHOT_DIR: z.string().min(1).default(join(tmpdir(), 'vigil-verifier')),
  VERIFIER_HTTP_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  VERIFIER_STEP_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  /** A Postgres check's connect and statement timeout. */
  VERIFIER_POSTGRES_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  /** HTTP probes in flight at once in this copy, whatever the requests ask. */
  VERIFIER_MAX_HTTP_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(256),
  /** Browser contexts open at once in this copy (each is a page: memory is the limit). */
  VERIFIER_MAX_BROWSER_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(16),
  /** Postgres checks (each a short connection to a service's database) at once in this copy. */
  VERIFIER_MAX_POSTGRES_IN_FLIGHT: z.coerce.number().int().min(1).max(1_000).default(8),
  /** A request's deadline is cut to this, so a verification always ends while JetStream waits for it. */
  VERIFIER_MAX_DEADLINE_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(10 * 60_000),
};
