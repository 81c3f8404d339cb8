import { z } from 'zod';
import { PlanStep } from './common.js';

/**
 * Emitted by the executor when a step has run, was refused, or its fate is unknown (a crash
 * mid-action: escalated, never retried blindly). Idempotent: keyed by `executionId`.
 */
export const ExecutionCompleted = z.object({
  executionId: z.string().min(1),
  stepId: z.string().min(1),
  mode: z.enum(['run', 'compensate', 'dry_run']).default('run'),
  status: z.enum(['succeeded', 'failed', 'refused', 'unknown']),
  summary: z.string(),
  output: z
    .object({
      stdout: z.string().default(''),
      stderr: z.string().default(''),
      exitCode: z.number().int().nullable().default(null),
      truncated: z.boolean().default(false),
    })
    .optional(),
  /** The inverse step the saga runs if verification later fails. */
  compensation: PlanStep.optional(),
  durationMs: z.number().nonnegative(),
});
export type ExecutionCompleted = z.infer<typeof ExecutionCompleted>;
