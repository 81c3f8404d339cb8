import { z } from 'zod';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** payment-api's configuration; the only place that reads the environment. Units are in the names. */
export const configShape = {
  PAYMENT_API_HOST: z.string().min(1).default('0.0.0.0'),
  PAYMENT_API_PORT: int(1, 65_535, 7480),
  /** Real PostgreSQL, e.g. postgres://payment_app@127.0.0.1:5432/payment. Unset: embedded PGlite. */
  PAYMENT_DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'a postgres:// or postgresql:// URL')
    .optional(),
  /** Where PGlite keeps its data when PAYMENT_DATABASE_URL is unset; in memory when unset too. */
  PAYMENT_DATA_DIR: z.string().min(1).optional(),
  /** The most connections the pool opens: exhausting it is one of the demo's faults. */
  PAYMENT_DB_POOL: int(1, 200, 10),
  /** How long a request waits for a pool connection (or for a new one to open) before it fails. */
  PAYMENT_DB_CONNECT_TIMEOUT_MS: int(50, 60_000, 2000),
  /** How long an unused pooled connection stays open. */
  PAYMENT_DB_IDLE_TIMEOUT_MS: int(100, 3_600_000, 10_000),
  PAYMENT_DB_STATEMENT_TIMEOUT_MS: int(100, 600_000, 15_000),
  /** How long /health waits for the hot order's row lock before answering 503. */
  PAYMENT_HEALTH_LOCK_TIMEOUT_MS: int(10, 60_000, 1000),
  /** How long a checkout waits for the hot order's row lock before it fails ("Payment failed"). */
  PAYMENT_CHECKOUT_LOCK_TIMEOUT_MS: int(10, 600_000, 5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export type PaymentConfig = z.output<z.ZodObject<typeof configShape>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Every problem at once, each naming its variable; the database URL is never echoed (it may hold a password). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PaymentConfig {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(configShape)) input[key] = env[key] === '' ? undefined : env[key];
  const result = z.object(configShape).safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const raw = input[key];
      const shown = raw === undefined ? 'not set' : key === 'PAYMENT_DATABASE_URL' ? 'value hidden' : `got ${JSON.stringify(raw)}`;
      return `${key}: ${issue.message} (${shown})`;
    }),
  );
}
