import { describe, expect, it } from 'vitest';
import { fromEventsV2, type EnqueueContext } from './events-v2.js';

const ctx: EnqueueContext = { now: new Date('2026-11-22T10:00:30.000Z'), newDedupKey: () => 'generated-key', routingScope: 'abc123' };
const trigger = {
  routing_key: 'R0UTINGKEY0000000000000000000001',
  event_action: 'trigger',
  dedup_key: 'srv01/HTTP',
  payload: {
    summary: 'payment-api p95 latency above 2s',
    source: 'prometheus',
    severity: 'critical',
    component: 'payment-api',
    class: 'HighLatency',
    custom_details: { p95_ms: 2400 },
    timestamp: '2015-07-17T08:42:58.315+0000',
  },
  client: 'Alertmanager',
  client_url: 'http://alertmanager:9093/#/alerts',
};

describe('fromEventsV2', () => {
  it('trigger → incident.triggered, service from component, alert name from class', () => {
    const intake = fromEventsV2(trigger, ctx);
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.dedupKey).toBe('srv01/HTTP');
    expect(intake.events[0]?.data).toMatchObject({
      source: 'events_v2',
      dedupKey: 'events_v2:abc123:srv01/HTTP',
      title: 'payment-api p95 latency above 2s',
      service: 'payment-api',
      severity: 'critical',
      alertName: 'HighLatency',
      labels: { source: 'prometheus', component: 'payment-api', class: 'HighLatency' },
      details: { p95_ms: 2400, client: 'Alertmanager' },
      externalUrl: 'http://alertmanager:9093/#/alerts',
      firedAt: '2015-07-17T08:42:58.315Z',
    });
  });

  it('a service named in custom_details wins; without component the source names the service', () => {
    const named = fromEventsV2({ ...trigger, payload: { ...trigger.payload, custom_details: { service: 'Checkout' } } }, ctx);
    if (named.outcome !== 'publish') throw new Error(named.outcome);
    expect(named.events[0]?.data).toMatchObject({ service: 'checkout' });
    const { component: _c, ...noComponent } = trigger.payload;
    const bySource = fromEventsV2({ ...trigger, payload: noComponent }, ctx);
    if (bySource.outcome !== 'publish') throw new Error(bySource.outcome);
    expect(bySource.events[0]?.data).toMatchObject({ service: 'prometheus' });
  });

  it('generates the dedup key of a trigger without one', () => {
    const { dedup_key: _d, ...withoutKey } = trigger;
    const intake = fromEventsV2(withoutKey, ctx);
    if (intake.outcome !== 'publish') throw new Error(intake.outcome);
    expect(intake.dedupKey).toBe('generated-key');
    expect(intake.events[0]?.data).toMatchObject({ dedupKey: 'events_v2:abc123:generated-key' });
  });

  it('resolve → incident.resolved.external; acknowledge changes nothing', () => {
    const resolve = fromEventsV2({ routing_key: trigger.routing_key, event_action: 'resolve', dedup_key: 'srv01/HTTP' }, ctx);
    if (resolve.outcome !== 'publish') throw new Error(resolve.outcome);
    expect(resolve.events[0]?.type).toBe('incident.resolved.external');
    expect(resolve.events[0]?.data).toMatchObject({ dedupKey: 'events_v2:abc123:srv01/HTTP', resolvedAt: '2026-11-22T10:00:30.000Z' });
    expect(fromEventsV2({ ...trigger, event_action: 'acknowledge' }, ctx)).toMatchObject({ outcome: 'ignored' });
  });

  it('every enqueue is its own event: a re-trigger after a resolve is never taken for a retry', () => {
    const a = fromEventsV2(trigger, ctx);
    const b = fromEventsV2(trigger, ctx);
    if (a.outcome !== 'publish' || b.outcome !== 'publish') throw new Error('expected publish');
    expect(a.events[0]?.id).not.toBe(b.events[0]?.id);
  });

  it("scopes dedup keys to the integration: another routing key's events never touch these incidents", () => {
    const mine = fromEventsV2(trigger, ctx);
    const theirs = fromEventsV2({ ...trigger, event_action: 'resolve' }, { ...ctx, routingScope: 'def456' });
    if (mine.outcome !== 'publish' || theirs.outcome !== 'publish') throw new Error('expected publish');
    expect(mine.events[0]?.data).toMatchObject({ dedupKey: 'events_v2:abc123:srv01/HTTP' });
    expect(theirs.events[0]?.data).toMatchObject({ dedupKey: 'events_v2:def456:srv01/HTTP' });
  });

  it.each([
    [{ ...trigger, event_action: 'explode' }, "'event_action'"],
    [{ ...trigger, payload: { ...trigger.payload, severity: 'apocalyptic' } }, "'payload.severity'"],
    [{ ...trigger, payload: { ...trigger.payload, summary: 'x'.repeat(1025) } }, "'payload.summary'"],
    [{ ...trigger, payload: { ...trigger.payload, timestamp: 'yesterday' } }, "'payload.timestamp'"],
    [{ routing_key: 'k', event_action: 'trigger' }, "'payload': is required when 'event_action' is trigger"],
    [{ routing_key: 'k', event_action: 'resolve' }, "'dedup_key': is required when 'event_action' is resolve"],
    [{ ...trigger, dedup_key: 'k'.repeat(256) }, "'dedup_key'"],
  ])('names the problem: %#', (body, fragment) => {
    const intake = fromEventsV2(body, ctx);
    expect(intake.outcome).toBe('invalid');
    if (intake.outcome === 'invalid') expect(intake.problems.join(' | ')).toContain(fragment);
  });
});
