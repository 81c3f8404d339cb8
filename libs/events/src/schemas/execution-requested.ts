import { z } from 'zod';
import { PlanStep, ServiceName } from './common.js';

/**
 * Command from the orchestrator to the executor: run one plan step (or its compensation).
 * Idempotent: `executionId` is fixed per (incident, step, mode); the executor returns the
 * recorded result for a known id and never runs the step twice.
 */
export const ExecutionRequested = z.object({
  executionId: z.string().min(1),
  service: ServiceName,
  planHash: z.string().regex(/^[a-f0-9]{64}$/, 'a hex SHA-256'),
  stepIndex: z.number().int().nonnegative(),
  step: PlanStep,
  mode: z.enum(['run', 'compensate', 'dry_run']).default('run'),
  /** A human was asked to approve this plan: the executor runs it only with the approved hash. */
  approvalRequired: z.boolean().default(false),
  /** Facts from the hypothesis the step's preconditions check against (e.g. the blocker pid). */
  evidenceFacts: z.record(z.string(), z.unknown()).default({}),
});
export type ExecutionRequested = z.infer<typeof ExecutionRequested>;
