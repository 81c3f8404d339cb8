import { z } from 'zod';
import { Score } from './common.js';

/**
 * Emitted by the verifier with the outcome of a baseline or proof. Idempotent: the saga takes
 * one result per (mode, attempt) and records later ones in the timeline only.
 */
export const VerificationCompleted = z.object({
  mode: z.enum(['baseline', 'proof']),
  passed: z.boolean(),
  passRatio: Score,
  rounds: z.number().int().nonnegative(),
  latencyMs: z.object({ p50: z.number().nonnegative(), p95: z.number().nonnegative() }),
  failures: z
    .array(
      z.object({
        check: z.string(),
        status: z.number().int().optional(),
        excerpt: z.string().optional(),
        screenshotPath: z.string().optional(),
        error: z.string().optional(),
      }),
    )
    .default([]),
});
export type VerificationCompleted = z.infer<typeof VerificationCompleted>;
