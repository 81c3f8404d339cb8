import { z } from 'zod';
import { ServiceName, VerificationCheck } from './common.js';

/**
 * Command from the orchestrator to the verifier: a baseline before execution (the failure is
 * real) or a proof after it (K consecutive passing rounds before a deadline). Idempotent:
 * one per (incident, mode, attempt) as the event id; the verifier has no side effects.
 */
export const VerificationRequested = z.object({
  service: ServiceName,
  mode: z.enum(['baseline', 'proof']),
  checks: z.array(VerificationCheck).min(1),
  concurrency: z.number().int().min(1).max(1000).default(4),
  consecutivePasses: z.number().int().min(1).max(100).default(3),
  roundIntervalMs: z.number().int().nonnegative().default(1000),
  deadlineMs: z.number().int().positive().default(60_000),
});
export type VerificationRequested = z.infer<typeof VerificationRequested>;
