import { z } from 'zod';
import { AlertSource, Timestamp } from './common.js';

/**
 * Emitted by ingest when a note is added to an incident in the paging system (PagerDuty
 * `incident.annotated`): Cleric posts its findings this way. Idempotent: the event id is derived
 * from the webhook event id, and the note id is carried for consumers' own de-duplication.
 */
export const IncidentAnnotated = z.object({
  source: AlertSource,
  externalIncidentId: z.string().min(1).max(255),
  dedupKey: z.string().max(512).optional(),
  note: z.object({
    id: z.string().max(255).optional(),
    content: z.string().max(65_536),
    /** The author as the sender reports it; Cleric is recognised by this, never by the text. */
    author: z.object({
      id: z.string().max(255).optional(),
      name: z.string().max(255).optional(),
      email: z.string().max(255).optional(),
      type: z.string().max(64).optional(),
    }),
    createdAt: Timestamp,
  }),
});
export type IncidentAnnotated = z.infer<typeof IncidentAnnotated>;
