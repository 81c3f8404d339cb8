import { z } from 'zod';
import { Hypothesis } from './common.js';

/**
 * Emitted by the investigator with its root-cause hypothesis (from a Cleric note, its own
 * probes, or both). Idempotent: the saga takes the first hypothesis for a stage and records
 * any later one in the timeline only.
 */
export const HypothesisReceived = z.object({
  hypothesis: Hypothesis,
});
export type HypothesisReceived = z.infer<typeof HypothesisReceived>;
