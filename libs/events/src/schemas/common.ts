import { z } from 'zod';

/** Shared value schemas. Every event builds on these, so the same idea has one shape everywhere. */

export const ServiceName = z
  .string()
  .min(1)
  .max(120)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/, 'a service name: letters, digits, . _ - /');
export type ServiceName = z.infer<typeof ServiceName>;

export const Risk = z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
export type Risk = z.infer<typeof Risk>;

export const Severity = z.enum(['critical', 'error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

/** A probability-like score in [0, 1]: confidence, match score, pass ratio. */
export const Score = z.number().min(0).max(1);

export const Timestamp = z.iso.datetime({ offset: true });

export const AlertSource = z.enum(['pagerduty', 'events_v2', 'alertmanager', 'manual']);
export type AlertSource = z.infer<typeof AlertSource>;

export const Labels = z.record(z.string(), z.string());

/** One observation that supports (or weakens) a hypothesis. */
export const Evidence = z.object({
  source: z.string().min(1),
  summary: z.string().min(1),
  /** Machine-readable facts a runbook can bind to, e.g. `{ blocker_pid: 4242 }`. */
  facts: z.record(z.string(), z.unknown()).default({}),
  confidence: Score.optional(),
});
export type Evidence = z.infer<typeof Evidence>;

export const HypothesisFlag = z.enum(['ambiguous', 'conflicting_sources', 'low_confidence', 'no_evidence', 'multiple_services']);
export type HypothesisFlag = z.infer<typeof HypothesisFlag>;

export const Hypothesis = z.object({
  rootCause: z.string().min(1),
  confidence: Score,
  origin: z.enum(['cleric', 'probes', 'combined', 'fallback']),
  evidence: z.array(Evidence).default([]),
  affectedServices: z.array(ServiceName).default([]),
  flags: z.array(HypothesisFlag).default([]),
});
export type Hypothesis = z.infer<typeof Hypothesis>;

/** Where a retrieved passage comes from, so every suggestion can be checked by a human. */
export const Citation = z.object({
  documentId: z.string().min(1),
  kind: z.enum(['runbook', 'incident']),
  title: z.string().min(1),
  section: z.string().optional(),
  lines: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
  uri: z.string().optional(),
});
export type Citation = z.infer<typeof Citation>;

const HttpCheck = z.object({
  kind: z.literal('http'),
  name: z.string().min(1),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  url: z.url(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  maxLatencyMs: z.number().int().positive().optional(),
  bodyContains: z.string().optional(),
});

const BrowserCheck = z.object({
  kind: z.literal('browser'),
  name: z.string().min(1),
  steps: z
    .array(
      z.object({
        do: z.enum(['goto', 'click', 'type', 'waitFor', 'expectText', 'expectStatus']),
        target: z.string().optional(),
        value: z.string().optional(),
      }),
    )
    .min(1),
});

/** A value a planner fills from the hypothesis (`{{evidence.idle_threshold_s}}`): only a runbook's checks hold one. */
const Template = z.string().regex(/^\{\{\s*[a-zA-Z0-9_.]+\s*\}\}$/, 'a number, or a template like {{evidence.idle_threshold_s}}');

/**
 * The state of the service's own database, read-only, through the verifier's service catalog
 * (the service's `postgres` target: no connection string travels in an event). For faults a
 * user does not see from outside, and as proof that a database fix took:
 * `no_idle_in_transaction`: no ordinary session of the database idle in a transaction for longer
 * than `olderThanS`; `accepts_connections`: the database accepts a new connection and its
 * tightest connection limit (the server's, its own, or that of a role with sessions in it) is
 * under 90% taken.
 */
const PostgresCheck = z.object({
  kind: z.literal('postgres'),
  name: z.string().min(1),
  expect: z.enum(['no_idle_in_transaction', 'accepts_connections']),
  olderThanS: z.number().nonnegative().default(30),
});

export const VerificationCheck = z.discriminatedUnion('kind', [HttpCheck, BrowserCheck, PostgresCheck]);
export type VerificationCheck = z.infer<typeof VerificationCheck>;

/**
 * A check as a runbook writes it: a Postgres check's threshold may be a template over the
 * hypothesis, which the planner fills (and then checks as a `VerificationCheck`) before any plan
 * carries it. Plans, verification requests and the catalog hold numbers only.
 */
export const RemedyCheck = z.discriminatedUnion('kind', [
  HttpCheck,
  BrowserCheck,
  PostgresCheck.extend({ olderThanS: z.union([z.number().nonnegative(), Template]).default(30) }),
]);
export type RemedyCheck = z.infer<typeof RemedyCheck>;

/**
 * What a runbook prescribes, in a form a planner can bind: typed actions whose parameters may be
 * templates over the hypothesis (`{{evidence.blocker_pid}}`, `{{service}}`), and the checks that
 * prove the fix. Filled by memory from a runbook's front matter.
 */
export const Remedy = z.object({
  risk: Risk,
  steps: z
    .array(
      z.object({
        action: z.string().regex(/^[a-z0-9_]+\.[a-z0-9_]+$/, 'an action name like postgres.cancel_backend'),
        params: z.record(z.string(), z.unknown()).default({}),
        reasoning: z.string().default(''),
      }),
    )
    .min(1),
  checks: z.array(RemedyCheck).default([]),
});
export type Remedy = z.infer<typeof Remedy>;

export const ContextMatch = z.object({
  citation: Citation,
  /** Normalised to [0, 1]: what the gate calls the runbook match. */
  score: Score,
  passage: z.string(),
  /** Proven, candidate (inside the stability window) or ineffective (re-fired). */
  standing: z.enum(['runbook', 'proven', 'candidate', 'ineffective']).default('runbook'),
  /** For a runbook: what it prescribes, bindable by the runbook planner. */
  remedy: Remedy.optional(),
});
export type ContextMatch = z.infer<typeof ContextMatch>;

export const PlanStep = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('action'),
    id: z.string().min(1),
    /** A typed action from the executor's catalog, e.g. `postgres.terminate_backend`. */
    action: z.string().regex(/^[a-z0-9_]+\.[a-z0-9_]+$/, 'an action name like postgres.cancel_backend'),
    params: z.record(z.string(), z.unknown()).default({}),
    reasoning: z.string().default(''),
  }),
  z.object({
    kind: z.literal('script'),
    id: z.string().min(1),
    language: z.enum(['bash', 'sh', 'sql', 'python']),
    code: z.string().min(1),
    /** host:port pairs the script may reach; none means no network. */
    egress: z.array(z.string()).default([]),
    reasoning: z.string().default(''),
  }),
]);
export type PlanStep = z.infer<typeof PlanStep>;

export const Plan = z.object({
  steps: z.array(PlanStep).min(1),
  confidence: Score,
  risk: Risk,
  reasoning: z.string().default(''),
  rollback: z.string().default(''),
  checks: z.array(VerificationCheck).default([]),
  /** Runbooks the plan follows. */
  citations: z.array(Citation).default([]),
  /** Which planner produced it: `runbook-planner`, `anthropic:claude-…`, … */
  producedBy: z.string().min(1),
});
export type Plan = z.infer<typeof Plan>;

export const GateDecision = z.enum(['AUTO_EXECUTE', 'REQUIRE_APPROVAL', 'ESCALATE']);
export type GateDecision = z.infer<typeof GateDecision>;
