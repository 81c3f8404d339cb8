import { z } from 'zod';
import { Plan } from './common.js';

export const EdgeCaseFlag = z.enum([
  'ambiguous_hypothesis',
  'conflicting_sources',
  'low_runbook_match',
  'multiple_services',
  'previously_ineffective',
  'touches_data',
  'risk_contradiction',
  'policy_denied',
  /** The model named a credential placeholder in a step: it stays a placeholder, and a human looks. */
  'secret_in_plan',
]);
export type EdgeCaseFlag = z.infer<typeof EdgeCaseFlag>;

/**
 * Emitted by the reasoner: a validated plan with its edge-case flags, or no plan with the
 * reason (invalid model output after one repair, budget spent, every provider down).
 * Idempotent: the saga accepts one proposal per incident.
 */
export const RemediationProposed = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('plan'),
    plan: Plan,
    flags: z.array(EdgeCaseFlag).default([]),
  }),
  z.object({
    outcome: z.literal('no_plan'),
    reason: z.string().min(1),
    /** The model's own text, redacted, when its output could not be used. */
    modelText: z.string().optional(),
  }),
]);
export type RemediationProposed = z.infer<typeof RemediationProposed>;
