import { z } from 'zod';
import { ServiceName } from './common.js';

export const EscalationReason = z.enum([
  'low_confidence',
  'gate_escalate',
  'policy_denied',
  'approval_denied',
  'approval_expired',
  'deadline_missed',
  'no_plan',
  'execution_failed',
  'execution_unknown',
  'verification_failed',
  'baseline_healthy',
  'shadow_mode',
  'loop_detected',
  'budget_exhausted',
  'manual',
]);
export type EscalationReason = z.infer<typeof EscalationReason>;

/**
 * Emitted by the orchestrator when a human must take over, with the reason and the stage it
 * happened in. Idempotent: one per incident escalation; a second is ignored by consumers.
 */
export const IncidentEscalated = z.object({
  service: ServiceName,
  stage: z.string().min(1),
  reason: EscalationReason,
  message: z.string().min(1),
  details: z.record(z.string(), z.unknown()).default({}),
  /** The paging system's incident, when the incident has one by now (see incident.resolved). */
  externalIncidentId: z.string().min(1).max(255).optional(),
});
export type IncidentEscalated = z.infer<typeof IncidentEscalated>;
