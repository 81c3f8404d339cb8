import { z } from 'zod';
import { createEvent } from '@vigil/events';
import type { Intake } from './pagerduty-webhook.js';
import { describeProblems } from './problems.js';
import { toServiceName } from './service-name.js';
import { VendorTime } from './time.js';

/** PagerDuty Events API v2 (`POST /v2/enqueue`), as PagerDuty documents it. */
const EnqueueRequest = z
  .object({
    routing_key: z.string().min(1),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
    dedup_key: z.string().min(1).max(255).optional(),
    payload: z
      .object({
        summary: z.string().min(1).max(1024),
        source: z.string().min(1),
        severity: z.enum(['critical', 'error', 'warning', 'info']),
        timestamp: VendorTime.optional(),
        component: z.string().optional(),
        group: z.string().optional(),
        class: z.string().optional(),
        custom_details: z.unknown().optional(),
      })
      .optional(),
    client: z.string().optional(),
    client_url: z.string().optional(),
    links: z.array(z.object({ href: z.string(), text: z.string().optional() })).optional(),
    images: z.array(z.object({ src: z.string(), href: z.string().optional(), alt: z.string().optional() })).optional(),
  })
  .superRefine((request, ctx) => {
    if (request.event_action === 'trigger' && request.payload === undefined) {
      ctx.addIssue({ code: 'custom', path: ['payload'], message: "is required when 'event_action' is trigger" });
    }
    if (request.event_action !== 'trigger' && request.dedup_key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['dedup_key'], message: `is required when 'event_action' is ${request.event_action}` });
    }
  });

export interface EnqueueContext {
  now: Date;
  /** Makes a dedup key for a trigger that has none (PagerDuty does the same and returns it). */
  newDedupKey: () => string;
  /**
   * A short, non-secret tag of the routing key the request used. Dedup keys are scoped to it, as
   * at PagerDuty: one integration cannot resolve (or join) another's incidents.
   */
  routingScope: string;
}

function detailsOf(custom: unknown): Record<string, unknown> {
  if (custom === undefined) return {};
  return typeof custom === 'object' && custom !== null && !Array.isArray(custom)
    ? (custom as Record<string, unknown>)
    : { custom_details: custom };
}

/**
 * Maps an Events API v2 request to Vigil events. Repeats of a dedup key attach to the open
 * incident; `acknowledge` is accepted but changes nothing in Vigil.
 */
export function fromEventsV2(body: unknown, ctx: EnqueueContext): Intake {
  const parsed = EnqueueRequest.safeParse(body);
  if (!parsed.success) return { outcome: 'invalid', problems: describeProblems(parsed.error) };
  const request = parsed.data;
  const dedupKey = request.dedup_key ?? ctx.newDedupKey();
  // Every enqueue is its own event (as at PagerDuty): a repeat of the alert attaches to the open
  // incident, and a re-trigger after a resolve is never mistaken for a retry.
  const meta = { source: 'ingest' };
  const scopedKey = `events_v2:${ctx.routingScope}:${dedupKey}`;

  if (request.event_action === 'acknowledge') {
    return { outcome: 'ignored', reason: 'acknowledge does not change a Vigil incident' };
  }
  if (request.event_action === 'resolve') {
    const resolved = createEvent(
      'incident.resolved.external',
      { source: 'events_v2', dedupKey: scopedKey, resolvedAt: ctx.now.toISOString() },
      meta,
    );
    return { outcome: 'publish', events: [resolved], dedupKey };
  }
  const payload = request.payload;
  if (payload === undefined) return { outcome: 'invalid', problems: ["'payload': is required when 'event_action' is trigger"] };
  const details = detailsOf(payload.custom_details);
  const serviceLabel = typeof details.service === 'string' ? details.service : (payload.component ?? payload.source);
  const alertName = typeof details.alertname === 'string' ? details.alertname : payload.class;
  const labels: Record<string, string> = { source: payload.source };
  for (const key of ['component', 'group', 'class'] as const) {
    const value = payload[key];
    if (value !== undefined) labels[key] = value;
  }
  const triggered = createEvent(
    'incident.triggered',
    {
      source: 'events_v2',
      dedupKey: scopedKey,
      title: payload.summary,
      service: toServiceName(serviceLabel),
      severity: payload.severity,
      ...(alertName ? { alertName: alertName.slice(0, 255) } : {}),
      labels,
      details: { ...details, ...(request.client ? { client: request.client } : {}), ...(request.links ? { links: request.links } : {}) },
      ...(request.client_url ? { externalUrl: request.client_url.slice(0, 2048) } : {}),
      firedAt: payload.timestamp ?? ctx.now.toISOString(),
    },
    meta,
  );
  return { outcome: 'publish', events: [triggered], dedupKey };
}
