import { describe, expect, it } from 'vitest';
import { fromAlertmanager } from './alertmanager.js';

const now = new Date('2026-11-22T10:05:00.000Z');
const payload = {
  version: '4',
  groupKey: '{}:{alertname="HighLatency"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'vigil',
  groupLabels: { alertname: 'HighLatency' },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  notification_reason: 'new_alert',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'HighLatency', job: 'payment-api', severity: 'page' },
      annotations: { summary: 'p95 above 2s', description: 'checkout requests are waiting on a lock' },
      startsAt: '2026-11-22T10:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=...',
      fingerprint: 'c0ffee0001',
    },
    {
      status: 'resolved',
      labels: { alertname: 'DiskFilling', service: 'Orders DB' },
      annotations: {},
      startsAt: '2026-11-22T09:00:00.000Z',
      endsAt: '2026-11-22T10:04:00.000Z',
      fingerprint: 'c0ffee0002',
    },
  ],
};

describe('fromAlertmanager', () => {
  it('maps each alert by fingerprint: firing → triggered, resolved → resolved.external', () => {
    const intake = fromAlertmanager(payload, now);
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    const [firing, resolved] = intake.events;
    expect(firing?.type).toBe('incident.triggered');
    expect(firing?.data).toMatchObject({
      source: 'alertmanager',
      dedupKey: 'alertmanager:c0ffee0001',
      title: 'p95 above 2s',
      service: 'payment-api',
      severity: 'critical',
      alertName: 'HighLatency',
      summary: 'checkout requests are waiting on a lock',
      firedAt: '2026-11-22T10:00:00.000Z',
    });
    expect(resolved?.type).toBe('incident.resolved.external');
    expect(resolved?.data).toMatchObject({ dedupKey: 'alertmanager:c0ffee0002', resolvedAt: '2026-11-22T10:04:00.000Z' });
  });

  it('a repeated notification of the same alert is the same event', () => {
    const a = fromAlertmanager(payload, now);
    const b = fromAlertmanager(payload, new Date('2026-11-22T11:00:00.000Z'));
    if (a.outcome !== 'publish' || b.outcome !== 'publish') throw new Error('expected publish');
    expect(a.events.map((e) => e.id)).toEqual(b.events.map((e) => e.id));
  });

  it('maps severities and falls back on the alert name as title', () => {
    const alert = { ...payload.alerts[0]!, labels: { alertname: 'X', severity: 'info' }, annotations: {} };
    const intake = fromAlertmanager({ ...payload, alerts: [alert] }, now);
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.events[0]?.data).toMatchObject({ title: 'X', severity: 'info', service: 'unknown' });
  });

  it('an empty notification is ignored; other versions and broken alerts are invalid, by field', () => {
    expect(fromAlertmanager({ ...payload, alerts: [] }, now)).toMatchObject({ outcome: 'ignored' });
    expect(fromAlertmanager({ ...payload, version: '3' }, now)).toMatchObject({
      outcome: 'invalid',
      problems: [expect.stringContaining("'version'")],
    });
    const tooLong = { ...payload, alerts: [{ ...payload.alerts[0], fingerprint: 'f'.repeat(300) }] };
    expect(fromAlertmanager(tooLong, now)).toMatchObject({
      outcome: 'invalid',
      problems: [expect.stringContaining("'alerts.0.fingerprint'")],
    });
    const broken = { ...payload, alerts: [{ ...payload.alerts[0], fingerprint: '' }] };
    expect(fromAlertmanager(broken, now)).toMatchObject({
      outcome: 'invalid',
      problems: [expect.stringContaining("'alerts.0.fingerprint'")],
    });
  });
});
