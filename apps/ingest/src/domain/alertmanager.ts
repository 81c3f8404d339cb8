import { z } from 'zod';
import { createEvent, deterministicUuidv7, type Severity, type VigilEvent } from '@vigil/events';
import type { Intake } from './pagerduty-webhook.js';
import { describeProblems } from './problems.js';
import { toServiceName } from './service-name.js';
import { VendorTime } from './time.js';

const Alert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: VendorTime,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(200),
});

/** Alertmanager's webhook payload, version 4. Extra fields (notification_reason, …) are tolerated. */
const WebhookPayload = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupKey: z.string(),
  externalURL: z.string().optional(),
  alerts: z.array(Alert),
});

function severityOf(label: string | undefined): Severity {
  switch ((label ?? '').toLowerCase()) {
    case 'critical':
    case 'page':
    case 'high':
      return 'critical';
    case 'error':
      return 'error';
    case 'info':
    case 'none':
      return 'info';
    default:
      return 'warning';
  }
}

/** Go's zero time marks a firing alert's unknown end. */
function endOf(endsAt: string | undefined, now: Date): string {
  const parsed = endsAt === undefined ? NaN : Date.parse(endsAt);
  return Number.isNaN(parsed) || parsed <= 0 ? now.toISOString() : new Date(parsed).toISOString();
}

/**
 * Maps an Alertmanager notification to one event per alert, keyed by fingerprint: firing →
 * `incident.triggered`, resolved → `incident.resolved.external`. A repeated notification of the
 * same alert gets the same event id.
 */
export function fromAlertmanager(body: unknown, now: Date): Intake {
  const parsed = WebhookPayload.safeParse(body);
  if (!parsed.success) return { outcome: 'invalid', problems: describeProblems(parsed.error) };
  const { alerts, receiver } = parsed.data;
  if (alerts.length === 0) return { outcome: 'ignored', reason: 'no alerts in the notification' };
  const events: VigilEvent[] = alerts.map((alert) => {
    const dedupKey = `alertmanager:${alert.fingerprint}`;
    if (alert.status === 'resolved') {
      const resolvedAt = endOf(alert.endsAt, now);
      return createEvent(
        'incident.resolved.external',
        { source: 'alertmanager', dedupKey, resolvedAt },
        {
          source: 'ingest',
          id: deterministicUuidv7(`alertmanager:${alert.fingerprint}:resolved:${alert.startsAt}`, Date.parse(resolvedAt)),
        },
      );
    }
    const { labels, annotations } = alert;
    return createEvent(
      'incident.triggered',
      {
        source: 'alertmanager',
        dedupKey,
        title: (annotations.summary ?? labels.alertname ?? 'alert').slice(0, 1024),
        service: toServiceName(labels.service ?? labels.job ?? labels.app),
        severity: severityOf(labels.severity),
        ...(labels.alertname ? { alertName: labels.alertname.slice(0, 255) } : {}),
        ...(annotations.description ? { summary: annotations.description.slice(0, 8192) } : {}),
        labels,
        details: { annotations, receiver },
        ...(alert.generatorURL ? { externalUrl: alert.generatorURL.slice(0, 2048) } : {}),
        firedAt: alert.startsAt,
      },
      {
        source: 'ingest',
        id: deterministicUuidv7(`alertmanager:${alert.fingerprint}:firing:${alert.startsAt}`, Date.parse(alert.startsAt)),
      },
    );
  });
  return { outcome: 'publish', events };
}
