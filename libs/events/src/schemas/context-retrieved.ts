import { z } from 'zod';
import { ContextMatch } from './common.js';

/**
 * Emitted by memory in answer to `context.requested`: ranked matches, each with its cited
 * source and a score in [0, 1]. Idempotent: the saga accepts one per incident.
 */
export const ContextRetrieved = z.object({
  query: z.string(),
  matches: z.array(ContextMatch),
});
export type ContextRetrieved = z.infer<typeof ContextRetrieved>;
