import { z } from 'zod';
import { AlertSource, Labels, ServiceName, Severity, Timestamp } from './common.js';

/**
 * Emitted by ingest when an alert fires (PagerDuty webhook, Events API v2 trigger, Alertmanager
 * firing). Idempotent: the event id is derived from the sender's delivery id, so a redelivered
 * webhook is de-duplicated by JetStream; the orchestrator attaches repeats of `dedupKey` to the
 * open incident instead of opening another.
 */
export const IncidentTriggered = z.object({
  source: AlertSource,
  /** Ties every alert about the same problem to one incident (PagerDuty dedup_key, AM fingerprint). */
  dedupKey: z.string().min(1).max(512),
  title: z.string().min(1).max(1024),
  service: ServiceName,
  severity: Severity,
  alertName: z.string().max(255).optional(),
  summary: z.string().max(8192).optional(),
  labels: Labels.default({}),
  details: z.record(z.string(), z.unknown()).default({}),
  /** The id of the incident in the system that paged us, e.g. PagerDuty's `PT4KHLK`. */
  externalIncidentId: z.string().max(255).optional(),
  externalUrl: z.string().max(2048).optional(),
  firedAt: Timestamp,
});
export type IncidentTriggered = z.infer<typeof IncidentTriggered>;
