import { z } from 'zod';
import { env, infrastructureConfig, secret } from '@vigil/platform';

/** The orchestrator's configuration: the shared infrastructure variables plus these. */
export const orchestratorConfig = {
  ...infrastructureConfig,
  ORCHESTRATOR_HOST: z.string().default('0.0.0.0'),
  ORCHESTRATOR_PORT: env.port(7402),
  /** The Postgres schema of the saga's tables (one per tenant or test). */
  ORCHESTRATOR_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier')
    .default('orchestrator'),
  /** Deadlines per stage: a missed one escalates. */
  DEADLINE_INVESTIGATING_MS: env.durationMs(120_000),
  DEADLINE_HYPOTHESIS_RECEIVED_MS: env.durationMs(60_000),
  DEADLINE_SYNTHESIZING_MS: env.durationMs(180_000),
  /** Grace after an approval request's expiry before the saga escalates on its own. */
  DEADLINE_AWAITING_APPROVAL_MS: env.durationMs(60_000),
  DEADLINE_EXECUTING_MS: env.durationMs(600_000),
  DEADLINE_VERIFYING_MS: env.durationMs(600_000),
  CLERIC_WAIT_MS: env.durationMs(30_000),
  APPROVAL_TTL_MS: env.durationMs(15 * 60_000),
  /** A trigger for an incident resolved this recently is a re-fire: its fix did not hold. */
  STABILITY_WINDOW_MS: env.durationMs(24 * 3600_000),
  PROOF_CONSECUTIVE_PASSES: z.coerce.number().int().min(1).max(100).default(3),
  PROOF_ROUND_INTERVAL_MS: env.durationMs(2000),
  PROOF_DEADLINE_MS: env.durationMs(120_000),
  PROOF_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(4),
  CONTEXT_LIMIT: z.coerce.number().int().min(1).max(50).default(5),
  /** YAML or JSON: gate thresholds and autonomy levels per service (see src/policy-file.ts). */
  VIGIL_POLICY_FILE: z.string().optional(),
  /** How often the outbox relay looks for unpublished events besides being woken on commit. */
  ORCHESTRATOR_RELAY_INTERVAL_MS: env.durationMs(1000),
  /** Publish as soon as a transition commits (lowest latency); false batches them per interval. */
  ORCHESTRATOR_RELAY_ON_COMMIT: env.flag(true),
  ORCHESTRATOR_TIMER_INTERVAL_MS: env.durationMs(1000),
  ORCHESTRATOR_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** How long a pulled event may go unacknowledged before another copy gets it (after a crash). */
  ORCHESTRATOR_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** `name:token` pairs: who may call the incident API (escalation needs one). */
  ORCHESTRATOR_API_TOKENS: secret(env.list()),
  /**
   * The approver's base URL (e.g. http://127.0.0.1:7408): the console's Approve / Deny buttons
   * send the decision there, as the signed-in person. Unset: the console shows pending approvals
   * but points people to the approver's own page or `vigil approve`.
   */
  APPROVER_URL: env.url(['http', 'https']).optional(),
  /** How long the console waits for the approver to answer a decision. */
  APPROVER_TIMEOUT_MS: env.durationMs(5_000),
};

export type OrchestratorConfig = z.output<z.ZodObject<typeof orchestratorConfig>>;
