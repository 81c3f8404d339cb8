import { z } from 'zod';
import { env, infrastructureConfig } from '@vigil/platform';

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );
const ratio = (fallback: number) => z.coerce.number().gt(0).max(1).default(fallback);
const seconds = (fallback: number) => z.coerce.number().nonnegative().default(fallback);

/** The investigator's configuration: the shared infrastructure variables plus these. */
export const investigatorConfig = {
  ...infrastructureConfig,
  INVESTIGATOR_HOST: z.string().default('0.0.0.0'),
  INVESTIGATOR_PORT: env.port(7403),
  INVESTIGATOR_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier')
    .default('investigator'),
  INVESTIGATOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** The service catalog (YAML): per service its health URL, Postgres DSN, Redis URL, probes. */
  VIGIL_SERVICE_CATALOG: z.string().min(1).optional(),
  /** Cleric is recognised by the note's author as the webhook reports it: its PagerDuty user id(s)… */
  CLERIC_USER_IDS: list,
  /** …or its user name(s), or email(s). With none set, no note is taken as Cleric's. */
  CLERIC_USER_NAMES: list,
  CLERIC_USER_EMAILS: list,
  /** Each probe's connect and statement timeout. */
  INVESTIGATOR_PROBE_TIMEOUT_MS: env.durationMs(5_000),
  /** A health answer slower than this is a symptom. */
  INVESTIGATOR_HEALTH_SLOW_MS: env.durationMs(2_000),
  INVESTIGATOR_LOCK_WAIT_MIN_S: seconds(2),
  // Whole seconds, at least 5: the runbook's fix ends exactly the sessions past this threshold, and
  // postgres.terminate_idle_in_transaction takes no younger one (ordinary traffic).
  INVESTIGATOR_IDLE_IN_TRANSACTION_S: z.coerce.number().int().min(5).default(30),
  INVESTIGATOR_CONNECTION_SATURATION: ratio(0.9),
  INVESTIGATOR_REDIS_MEMORY_RATIO: ratio(0.9),
  INVESTIGATOR_REDIS_BLOCKED_CLIENTS: z.coerce.number().int().min(1).default(50),
  /** How often waits for Cleric that have run out are answered (durable timers, polled). */
  INVESTIGATOR_TICK_MS: env.durationMs(1_000),
};
