import { z } from 'zod';
import { Timestamp } from './common.js';

/**
 * Emitted by the approver when a request is approved, denied or expires. Idempotent: one
 * decision per (incident, planHash); the saga ignores a decision for another plan hash.
 */
export const ApprovalDecided = z.object({
  planHash: z.string().regex(/^[a-f0-9]{64}$/, 'a hex SHA-256'),
  decision: z.enum(['approved', 'denied', 'expired']),
  decidedBy: z.array(z.object({ id: z.string().min(1), name: z.string().optional() })),
  via: z.enum(['slack', 'web', 'cli', 'timer']),
  reason: z.string().optional(),
  decidedAt: Timestamp,
});
export type ApprovalDecided = z.infer<typeof ApprovalDecided>;
