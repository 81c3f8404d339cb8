import { z } from 'zod';
import { Plan, Risk, ServiceName, Timestamp } from './common.js';

/**
 * Command from the orchestrator to the approver when the gate says REQUIRE_APPROVAL.
 * Idempotent: one request per (incident, planHash); the approver posts once per request.
 */
export const ApprovalRequested = z.object({
  service: ServiceName,
  /** SHA-256 of the canonical plan shown; an approval binds to exactly this plan. */
  planHash: z.string().regex(/^[a-f0-9]{64}$/, 'a hex SHA-256'),
  plan: Plan,
  risk: Risk,
  confidence: z.number().min(0).max(1),
  /** Why the gate asked a human. */
  reasons: z.array(z.string()).min(1),
  expiresAt: Timestamp,
  requiredApprovals: z.number().int().min(1).max(5).default(1),
  requestedBy: z.string().default('vigil'),
});
export type ApprovalRequested = z.infer<typeof ApprovalRequested>;
