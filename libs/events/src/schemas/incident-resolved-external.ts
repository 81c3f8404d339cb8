import { z } from 'zod';
import { AlertSource, Timestamp } from './common.js';

/**
 * Emitted by ingest when the paging system says the problem is over (PagerDuty resolved,
 * Events API v2 resolve, Alertmanager resolved). Idempotent: the event id is derived from the
 * sender's delivery id; resolving an already closed incident is a no-op for the saga.
 */
export const IncidentResolvedExternal = z.object({
  source: AlertSource,
  dedupKey: z.string().min(1).max(512),
  externalIncidentId: z.string().max(255).optional(),
  resolvedAt: Timestamp,
  reason: z.string().max(1024).optional(),
});
export type IncidentResolvedExternal = z.infer<typeof IncidentResolvedExternal>;
