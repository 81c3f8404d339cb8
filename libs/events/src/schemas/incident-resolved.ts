import { z } from 'zod';
import { Plan, ServiceName, Timestamp } from './common.js';

/**
 * Emitted by the orchestrator when an incident reaches RESOLVED (proof passed, or the paging
 * system resolved it). Memory records the fix as a candidate until the stability window ends.
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
});
export type IncidentResolved = z.infer<typeof IncidentResolved>;
