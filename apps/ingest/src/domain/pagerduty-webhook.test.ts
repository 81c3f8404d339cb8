import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromPagerDutyWebhook } from './pagerduty-webhook.js';

const priorityUpdated = JSON.parse(
  readFileSync(new URL('../../test/fixtures/pagerduty-webhook-v3-test-body.json', import.meta.url), 'utf8'),
) as { event: Record<string, unknown> & { data: Record<string, unknown> } };

function webhook(eventType: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { event: { ...priorityUpdated.event, id: `01EVT${eventType}`, event_type: eventType, data, ...extra } };
}

const incident = { ...priorityUpdated.event.data, incident_key: 'payment-api/HighLatency' };

describe('fromPagerDutyWebhook', () => {
  it('incident.triggered → incident.triggered with the incident key as dedup key', () => {
    const intake = fromPagerDutyWebhook(webhook('incident.triggered', incident));
    expect(intake.outcome).toBe('publish');
    if (intake.outcome !== 'publish') return;
    const [event] = intake.events;
    expect(event?.type).toBe('incident.triggered');
    expect(event?.incidentId).toBeNull();
    expect(event?.data).toMatchObject({
      source: 'pagerduty',
      dedupKey: 'payment-api/HighLatency',
      title: 'A little bump in the road',
      service: 'api-service',
      severity: 'critical',
      externalIncidentId: 'PGR0VU2',
      externalUrl: 'https://acme.pagerduty.com/incidents/PGR0VU2',
      labels: { pagerduty_service_id: 'PF9KMXH', priority: 'P1' },
    });
  });

  it("names no alert: nothing in a v3 incident names it, not even a title in Alertmanager's default form", () => {
    // What PagerDuty shows for an incident Alertmanager's pagerduty receiver opened with its default
    // description: group label values without their names, and a hash of the group key as incident key.
    const fromAlertmanager = {
      ...incident,
      title: '[FIRING:1] HighLatency payment-api (critical)',
      incident_key: 'f2a1c0c7d8e9b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1',
    };
    for (const data of [incident, fromAlertmanager]) {
      const intake = fromPagerDutyWebhook(webhook('incident.triggered', data));
      if (intake.outcome !== 'publish') throw new Error(intake.outcome);
      expect(intake.events[0]?.data).not.toHaveProperty('alertName');
    }
  });

  it('falls back to the PagerDuty incident id without an incident key, and low urgency is a warning', () => {
    const intake = fromPagerDutyWebhook(webhook('incident.triggered', { ...priorityUpdated.event.data, urgency: 'low' }));
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.events[0]?.data).toMatchObject({ dedupKey: 'pagerduty:PGR0VU2', severity: 'warning' });
  });

  it('incident.annotated → the note, its incident (data.incident.id, not the note id) and its author', () => {
    const note = {
      incident: { id: 'PGR0VU2', type: 'incident_reference', summary: 'A little bump in the road' },
      id: 'P2LA89X',
      content: 'Root cause: lock on orders (confidence 92%)',
      trimmed: false,
      type: 'incident_note',
    };
    const intake = fromPagerDutyWebhook(
      webhook('incident.annotated', note, { agent: { id: 'PCLERIC', summary: 'Cleric', type: 'user_reference' } }),
    );
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.events[0]?.type).toBe('incident.annotated');
    expect(intake.events[0]?.data).toMatchObject({
      externalIncidentId: 'PGR0VU2',
      note: { id: 'P2LA89X', content: note.content, author: { id: 'PCLERIC', name: 'Cleric', type: 'user_reference' } },
    });
  });

  it('incident.resolved → incident.resolved.external', () => {
    const intake = fromPagerDutyWebhook(webhook('incident.resolved', { ...incident, status: 'resolved' }));
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.events[0]?.type).toBe('incident.resolved.external');
    expect(intake.events[0]?.data).toMatchObject({ dedupKey: 'payment-api/HighLatency', externalIncidentId: 'PGR0VU2' });
  });

  it('ignores event types Vigil does not act on, including unknown future ones', () => {
    expect(fromPagerDutyWebhook(priorityUpdated)).toMatchObject({ outcome: 'ignored' });
    expect(fromPagerDutyWebhook(webhook('incident.something_new', {}))).toMatchObject({ outcome: 'ignored' });
  });

  it('gives a redelivery the same event id', () => {
    const a = fromPagerDutyWebhook(webhook('incident.triggered', incident));
    const b = fromPagerDutyWebhook(webhook('incident.triggered', incident));
    if (a.outcome !== 'publish' || b.outcome !== 'publish') throw new Error('expected publish');
    expect(a.events[0]?.id).toBe(b.events[0]?.id);
  });

  it('names what is wrong with a malformed webhook', () => {
    expect(fromPagerDutyWebhook({ event: { event_type: 'incident.triggered' } })).toMatchObject({
      outcome: 'invalid',
      problems: expect.arrayContaining([expect.stringContaining("'event.id'"), expect.stringContaining("'event.occurred_at'")]),
    });
    const noTitle = fromPagerDutyWebhook(webhook('incident.triggered', { ...incident, title: undefined }));
    expect(noTitle).toMatchObject({ outcome: 'invalid', problems: [expect.stringContaining("'title'")] });
    expect(fromPagerDutyWebhook([])).toMatchObject({ outcome: 'invalid' });
  });
});
