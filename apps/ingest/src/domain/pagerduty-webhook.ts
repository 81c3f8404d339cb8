import { z } from 'zod';
import { isVigilError } from '@vigil/errors';
import { createEvent, deterministicUuidv7, type Severity, type VigilEvent } from '@vigil/events';
import { describeProblems } from './problems.js';
import { toServiceName } from './service-name.js';
import { VendorTime } from './time.js';

/** What an edge decided about one request, before anything is published. */
export type Intake =
  | { outcome: 'publish'; events: VigilEvent[]; dedupKey?: string }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'invalid'; problems: string[] };

/**
 * Runs a mapping, turning an event the contract refuses (a value past a limit) into a 400 that
 * names it, instead of a 500 a sender would retry forever.
 */
export function safely(map: () => Intake): Intake {
  try {
    return map();
  } catch (error) {
    if (isVigilError(error, 'EVENT_INVALID')) return { outcome: 'invalid', problems: [error.message] };
    throw error;
  }
}

const Reference = z.object({
  id: z.string().min(1),
  summary: z.string().optional(),
  type: z.string().optional(),
  html_url: z.string().optional(),
});

/** PagerDuty v3 webhook envelope: exactly one event per request. Unknown fields are tolerated. */
const WebhookEnvelope = z.object({
  event: z.object({
    id: z.string().min(1),
    event_type: z.string().min(1),
    resource_type: z.string().optional(),
    occurred_at: VendorTime,
    agent: Reference.nullable().optional(),
    data: z.record(z.string(), z.unknown()),
  }),
});

const IncidentData = z.object({
  id: z.string().min(1),
  type: z.literal('incident'),
  title: z.string().min(1),
  html_url: z.string().optional(),
  number: z.number().optional(),
  incident_key: z.string().nullable().optional(),
  urgency: z.enum(['high', 'low']).optional(),
  status: z.string().optional(),
  service: Reference,
  priority: Reference.nullable().optional(),
  created_at: VendorTime.optional(),
  resolve_reason: z.unknown().optional(),
});

const NoteData = z.object({
  id: z.string().min(1),
  type: z.literal('incident_note'),
  content: z.string(),
  trimmed: z.boolean().optional(),
  incident: Reference,
});

const severityOf = (urgency: 'high' | 'low' | undefined): Severity => (urgency === 'low' ? 'warning' : 'critical');

/** PagerDuty's incident_key ties its incident to the alerts behind it; without one, the incident id does. */
const dedupKeyOf = (incident: z.infer<typeof IncidentData>): string => incident.incident_key ?? `pagerduty:${incident.id}`;

/**
 * Maps a verified PagerDuty webhook to Vigil events. The event id derives from the webhook event
 * id, so a redelivery is the same event. Event types Vigil does not act on are ignored.
 */
export function fromPagerDutyWebhook(body: unknown): Intake {
  const envelope = WebhookEnvelope.safeParse(body);
  if (!envelope.success) return { outcome: 'invalid', problems: describeProblems(envelope.error) };
  const { event } = envelope.data;
  const meta = { source: 'ingest', id: deterministicUuidv7(`pagerduty:webhook:${event.id}`, Date.parse(event.occurred_at)) };

  switch (event.event_type) {
    case 'incident.triggered':
    case 'incident.resolved': {
      const data = IncidentData.safeParse(event.data);
      if (!data.success) return { outcome: 'invalid', problems: describeProblems(data.error).map((p) => `event.data ${p}`) };
      const incident = data.data;
      if (event.event_type === 'incident.resolved') {
        const resolved = createEvent(
          'incident.resolved.external',
          {
            source: 'pagerduty',
            dedupKey: dedupKeyOf(incident),
            externalIncidentId: incident.id,
            resolvedAt: event.occurred_at,
            ...(typeof incident.resolve_reason === 'string' ? { reason: incident.resolve_reason } : {}),
          },
          meta,
        );
        return { outcome: 'publish', events: [resolved] };
      }
      // No alertName, deliberately. The other channels name the alert by Prometheus' `alertname`
      // label (Alertmanager) or by Events API v2 `custom_details.alertname` / `payload.class`. A v3
      // webhook's incident (PagerDuty's documented `incident` data type) carries none of those: no
      // alert, no log entry (`first_trigger_log_entry` was v2), no custom details — only the
      // incident's own fields. Its `title` is the alert's summary, free text; Alertmanager's default
      // PagerDuty description (`[FIRING:n] <group label values> (<other label values>)`) joins label
      // values without their names, and is configurable, so the alert name cannot be read from it;
      // `incident_key` is the sender's dedup key (Alertmanager: a hash of the group key). A guessed
      // name could attach this incident to the wrong open one; without one it opens its own.
      const triggered = createEvent(
        'incident.triggered',
        {
          source: 'pagerduty',
          dedupKey: dedupKeyOf(incident),
          title: incident.title.slice(0, 1024),
          service: toServiceName(incident.service.summary ?? incident.service.id),
          severity: severityOf(incident.urgency),
          externalIncidentId: incident.id,
          ...(incident.html_url ? { externalUrl: incident.html_url } : {}),
          labels: {
            pagerduty_service_id: incident.service.id,
            ...(incident.priority?.summary ? { priority: incident.priority.summary } : {}),
          },
          details: { number: incident.number, urgency: incident.urgency, status: incident.status },
          firedAt: incident.created_at ?? event.occurred_at,
        },
        meta,
      );
      return { outcome: 'publish', events: [triggered] };
    }
    case 'incident.annotated': {
      const data = NoteData.safeParse(event.data);
      if (!data.success) return { outcome: 'invalid', problems: describeProblems(data.error).map((p) => `event.data ${p}`) };
      const note = data.data;
      const agent = event.agent ?? undefined;
      const annotated = createEvent(
        'incident.annotated',
        {
          source: 'pagerduty',
          externalIncidentId: note.incident.id,
          note: {
            id: note.id,
            content: note.content,
            // The author as PagerDuty reports it: the investigator trusts this, never the text.
            author: agent
              ? { id: agent.id, ...(agent.summary ? { name: agent.summary } : {}), ...(agent.type ? { type: agent.type } : {}) }
              : {},
            createdAt: event.occurred_at,
          },
        },
        meta,
      );
      return { outcome: 'publish', events: [annotated] };
    }
    default:
      return { outcome: 'ignored', reason: `event type ${event.event_type} is not acted on` };
  }
}
