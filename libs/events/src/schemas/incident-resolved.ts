import { z } from 'zod';
import { Hypothesis, Plan, Score, ServiceName, Timestamp } from './common.js';

/** One verification run, reduced to what a reader of the incident's history needs. */
const VerificationRun = z.object({
  passed: z.boolean(),
  passRatio: Score,
  rounds: z.number().int().nonnegative(),
});

/** How the resolution was proven: the checks the plan named, the baseline before and the proof after. */
export const VerificationSummary = z.object({
  /** Names of the plan's verification checks. */
  checks: z.array(z.string().min(1)).default([]),
  baseline: VerificationRun.optional(),
  proof: VerificationRun.optional(),
});
export type VerificationSummary = z.infer<typeof VerificationSummary>;

/**
 * Emitted by the orchestrator when an incident reaches RESOLVED (proof passed, or the paging
 * system resolved it). Memory records the fix as a candidate until the stability window ends,
 * with the provenance carried here (title, alert, hypothesis, plan, verification).
 * Idempotent: one per incident resolution; memory keys its candidate by incident id.
 */
export const IncidentResolved = z.object({
  service: ServiceName,
  dedupKey: z.string().min(1),
  how: z.enum(['remediated', 'external', 'manual']),
  plan: Plan.optional(),
  resolvedAt: Timestamp,
  /** Alert received → resolved, in milliseconds. */
  mttrMs: z.number().nonnegative(),
  /** The alert's title, as the incident was opened with it. */
  title: z.string().min(1).max(1024).optional(),
  alertName: z.string().max(255).optional(),
  /** The root-cause hypothesis the plan acted on. */
  hypothesis: Hypothesis.optional(),
  verification: VerificationSummary.optional(),
  /**
   * The paging system's incident (PagerDuty's id), when the incident has one by now: also one it
   * took on after it opened, when the pager's trigger was correlated with an alert from elsewhere.
   */
  externalIncidentId: z.string().min(1).max(255).optional(),
});
export type IncidentResolved = z.infer<typeof IncidentResolved>;
