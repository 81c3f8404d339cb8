import { z } from 'zod';
import { Hypothesis, ServiceName } from './common.js';

/**
 * Command from the orchestrator to memory on HYPOTHESIS_RECEIVED: find runbooks and past
 * incidents for this hypothesis. Idempotent: a search has no side effect; memory's inbox skips
 * a redelivery.
 */
export const ContextRequested = z.object({
  service: ServiceName,
  query: z.string().min(1).max(8192),
  alertName: z.string().optional(),
  hypothesis: Hypothesis,
  limit: z.number().int().min(1).max(50).default(5),
});
export type ContextRequested = z.infer<typeof ContextRequested>;
