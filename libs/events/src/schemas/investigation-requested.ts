import { z } from 'zod';
import { Labels, ServiceName } from './common.js';

/**
 * Command from the orchestrator to the investigator on entering INVESTIGATING. Idempotent: one
 * per incident; the investigator's inbox ignores a redelivery.
 */
export const InvestigationRequested = z.object({
  service: ServiceName,
  title: z.string().min(1),
  alertName: z.string().optional(),
  summary: z.string().optional(),
  labels: Labels.default({}),
  externalIncidentId: z.string().optional(),
  /** How long to wait for a Cleric note before answering with the probes alone. */
  clericWaitMs: z.number().int().nonnegative(),
});
export type InvestigationRequested = z.infer<typeof InvestigationRequested>;
