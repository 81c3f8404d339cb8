import { createHash } from 'node:crypto';
import { z } from 'zod';
import { createEvent, deterministicUuidv7 } from '@vigil/events';
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
}

function detailsOf(custom: unknown): Record<string, unknown> {
  if (custom === undefined) return {};
  return typeof custom === 'object' && custom !== null && !Array.isArray(custom)
    ? (custom as Record<string, unknown>)
    : { custom_details: custom };
}

/**
 * Maps an Events API v2 request to Vigil events. A retried request (same body within the same
 * minute) gets the same event id, so JetStream stores it once; the saga attaches repeats of a
 * dedup key to the open incident. `acknowledge` is accepted but changes nothing in Vigil.
 */
export function fromEventsV2(body: unknown, ctx: EnqueueContext): Intake {
  const parsed = EnqueueRequest.safeParse(body);
  if (!parsed.success) return { outcome: 'invalid', problems: describeProblems(parsed.error) };
  const request = parsed.data;
  const dedupKey = request.dedup_key ?? ctx.newDedupKey();
  const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const minute = Math.floor(ctx.now.getTime() / 60_000) * 60_000;
  const at = request.payload?.timestamp ? Date.parse(request.payload.timestamp) : minute;
  const meta = { source: 'ingest', id: deterministicUuidv7(`events_v2:${request.event_action}:${dedupKey}:${fingerprint}:${minute}`, at) };

  if (request.event_action === 'acknowledge') {
    return { outcome: 'ignored', reason: 'acknowledge does not change a Vigil incident' };
  }
  if (request.event_action === 'resolve') {
    const resolved = createEvent('incident.resolved.external', { source: 'events_v2', dedupKey, resolvedAt: ctx.now.toISOString() }, meta);
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
      dedupKey,
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
