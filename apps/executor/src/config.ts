import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** The executor's configuration: the shared infrastructure variables plus these. */
export const executorConfig = {
  ...infrastructureConfig,
  EXECUTOR_HOST: z.string().default('0.0.0.0'),
  EXECUTOR_PORT: env.port(7406),
  EXECUTOR_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier')
    .default('executor'),
  EXECUTOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** The service catalog (YAML): what each service lets the executor act on (`executor:` block). */
  VIGIL_SERVICE_CATALOG: z.string().min(1).optional(),
  /** Where scripts run: `local` (bubblewrap), `coder` (a workspace per run), or `none` (scripts refused). */
  EXECUTOR_SANDBOX: z.enum(['local', 'coder', 'none']).default('local'),
  EXECUTOR_SCRIPT_TIMEOUT_MS: env.durationMs(60_000),
  EXECUTOR_SCRIPT_MEMORY_MB: z.coerce.number().int().min(16).default(256),
  EXECUTOR_SCRIPT_CPU_S: z.coerce.number().int().min(1).default(30),
  EXECUTOR_SCRIPT_OUTPUT_BYTES: z.coerce.number().int().min(1024).default(65_536),
  /** A running step past its own timeout plus this is declared `unknown` (its executor died). */
  EXECUTOR_UNKNOWN_AFTER_MS: env.durationMs(60_000),
  EXECUTOR_SWEEP_MS: env.durationMs(5_000),
  /** Coder (EXECUTOR_SANDBOX=coder). */
  CODER_URL: env.url(['http', 'https']).optional(),
  CODER_SESSION_TOKEN: secret(z.string().min(1).optional()),
  CODER_TEMPLATE_ID: z.string().min(1).optional(),
  /** The account the workspace's sshd accepts the one-time key for. */
  CODER_SSH_USER: z.string().min(1).default('coder'),
  /** Kubernetes actions use the default kubeconfig (in-cluster or ~/.kube/config) when on. */
  EXECUTOR_KUBERNETES: z.enum(['on', 'off']).default('off'),
};

export type ExecutorConfig = z.output<z.ZodObject<typeof executorConfig>>;
