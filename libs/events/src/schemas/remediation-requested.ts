import { z } from 'zod';
import { ContextMatch, Hypothesis, ServiceName } from './common.js';

/**
 * Command from the orchestrator to the reasoner on CONTEXT_RETRIEVED: propose a plan.
 * Idempotent: the reasoner's inbox skips a redelivery, so a model is not asked twice.
 */
export const RemediationRequested = z.object({
  service: ServiceName,
  title: z.string().min(1),
  hypothesis: Hypothesis,
  context: z.array(ContextMatch),
});
export type RemediationRequested = z.infer<typeof RemediationRequested>;
