import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, eventually, startOwnedNatsServer } from '@vigil/testing';
import { startIngest, type TestIngest } from './start-ingest.js';

const secret = 'whsec-test-0123456789abcdef';
const routingKey = 'R0UTINGKEY0000000000000000000001';
const amToken = 'am-token-0123456789abcdef';
const secrets = {
  PAGERDUTY_WEBHOOK_SECRETS: ['rotated-out-secret', secret],
  VIGIL_ROUTING_KEYS: [routingKey],
  ALERTMANAGER_TOKEN: amToken,
};

const vector = JSON.parse(readFileSync(new URL('./fixtures/pagerduty-webhook-v3-test-body.json', import.meta.url), 'utf8'));
function pdWebhook(eventType: string, id: string) {
  return JSON.stringify({
    event: { ...vector.event, id, event_type: eventType, data: { ...vector.event.data, incident_key: `key-${id}` } },
  });
}
const sign = (body: string, key = secret) => `v1=${createHmac('sha256', key).update(body).digest('hex')}`;

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: response.status, json, headers: response.headers };
}

describe('ingest over real HTTP, NATS and Redis', () => {
  let ingest: TestIngest;
  beforeAll(async () => {
    ingest = await startIngest(secrets, { bodyLimitBytes: 64 * 1024 });
  });
  afterAll(async () => ingest.stop());

  const stored = async () => (await collect(ingest.bus.read())).map((s) => s.event);

  describe('PagerDuty webhooks', () => {
    it('a signed incident.triggered is stored before the 202, and a redelivery is not stored again', async () => {
      const body = pdWebhook('incident.triggered', 'W1');
      const first = await post(`${ingest.url}/webhooks/pagerduty`, body, { 'x-pagerduty-signature': sign(body), 'x-webhook-id': 'hook-1' });
      expect(first.status).toBe(202);
      expect(first.json.status).toBe('accepted');
      const events = await stored();
      const triggered = events.filter((e) => e.type === 'incident.triggered' && e.data.dedupKey === 'key-W1');
      expect(triggered).toHaveLength(1);
      // PagerDuty's incident, by its id; no alert name, since a v3 webhook carries none (see the mapping).
      expect(triggered[0]!.data).toMatchObject({ source: 'pagerduty', externalIncidentId: 'PGR0VU2', service: 'api-service' });
      expect(triggered[0]!.data).not.toHaveProperty('alertName');

      const again = await post(`${ingest.url}/webhooks/pagerduty`, body, { 'x-pagerduty-signature': sign(body), 'x-webhook-id': 'hook-1' });
      expect(again.status).toBe(202);
      expect(again.json.status).toBe('duplicate');
      // Even past the delivery-id memory, the deterministic event id keeps JetStream from storing it twice.
      const differentHookId = await post(`${ingest.url}/webhooks/pagerduty`, body, {
        'x-pagerduty-signature': sign(body),
        'x-webhook-id': 'hook-1b',
      });
      expect(differentHookId.status).toBe(202);
      expect((await stored()).filter((e) => e.type === 'incident.triggered' && e.data.dedupKey === 'key-W1')).toHaveLength(1);
    });

    it('accepts a signature made with any configured secret (rotation)', async () => {
      const body = pdWebhook('incident.resolved', 'W2');
      const response = await post(`${ingest.url}/webhooks/pagerduty`, body, {
        'x-pagerduty-signature': `${sign(body, 'unknown')},${sign(body, 'rotated-out-secret')}`,
      });
      expect(response.status).toBe(202);
      expect((await stored()).some((e) => e.type === 'incident.resolved.external' && e.data.dedupKey === 'key-W2')).toBe(true);
    });

    it.each([
      ['missing', {}, 401],
      ['wrong', { 'x-pagerduty-signature': 'v1=' + '0'.repeat(64) }, 403],
      ['malformed', { 'x-pagerduty-signature': 'sha256=abc' }, 403],
    ])('refuses a %s signature with %i and stores nothing', async (_name, headers, status) => {
      const body = pdWebhook('incident.triggered', `W-${status}-${_name}`);
      const before = (await stored()).length;
      const response = await post(`${ingest.url}/webhooks/pagerduty`, body, headers as Record<string, string>);
      expect(response.status).toBe(status);
      expect(String(response.json.error)).toContain('X-PagerDuty-Signature');
      expect((await stored()).length).toBe(before);
    });

    it('acknowledges event types it does not act on without storing them', async () => {
      const body = pdWebhook('incident.priority_updated', 'W3');
      const response = await post(`${ingest.url}/webhooks/pagerduty`, body, { 'x-pagerduty-signature': sign(body) });
      expect(response.status).toBe(202);
      expect(response.json.status).toBe('ignored');
    });

    it('a signed body that is not a webhook is a 400 naming the fields', async () => {
      const body = JSON.stringify({ event: { event_type: 'incident.triggered' } });
      const response = await post(`${ingest.url}/webhooks/pagerduty`, body, { 'x-pagerduty-signature': sign(body) });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.json.problems)).toContain("'event.id'");
    });
  });

  describe('hostile input is a 4xx naming the problem, never a 500', () => {
    it('unparseable JSON → 400', async () => {
      const response = await post(`${ingest.url}/webhooks/pagerduty`, '{"event":', { 'x-pagerduty-signature': sign('{"event":') });
      expect(response.status).toBe(400);
      expect(String(response.json.error)).toContain('not valid JSON');
    });

    it('JSON with a charset parameter is JSON', async () => {
      const body = pdWebhook('incident.priority_updated', 'C1');
      const response = await post(`${ingest.url}/webhooks/pagerduty`, body, {
        'content-type': 'application/json; charset=utf-8',
        'x-pagerduty-signature': sign(body),
      });
      expect(response.status).toBe(202);
    });

    it('wrong content type → 400', async () => {
      const response = await post(`${ingest.url}/webhooks/alertmanager`, 'hello', {
        'content-type': 'text/plain',
        authorization: `Bearer ${amToken}`,
      });
      expect(response.status).toBe(400);
      expect(String(response.json.error)).toContain('text/plain');
    });

    it('empty body → 400', async () => {
      const response = await post(`${ingest.url}/v2/enqueue`, '');
      expect(response.status).toBe(400);
    });

    it('a body over the limit → 413', async () => {
      const big = JSON.stringify({ routing_key: routingKey, padding: 'x'.repeat(70 * 1024) });
      const response = await post(`${ingest.url}/v2/enqueue`, big);
      expect(response.status).toBe(413);
    });

    it('an unknown route → 404', async () => {
      expect((await post(`${ingest.url}/webhooks/nagios`, '{}')).status).toBe(404);
    });
  });

  describe('Events API v2', () => {
    const trigger = {
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: 'srv01/HTTP',
      payload: { summary: 'payment-api p95 above 2s', source: 'prometheus', severity: 'critical', component: 'payment-api' },
    };

    it("trigger → 202 with PagerDuty's body, stored as incident.triggered", async () => {
      const response = await post(`${ingest.url}/v2/enqueue`, JSON.stringify(trigger));
      expect(response.status).toBe(202);
      expect(response.json).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'srv01/HTTP' });
      const events = await stored();
      expect(events.some((e) => e.type === 'incident.triggered' && e.data.source === 'events_v2' && e.data.service === 'payment-api')).toBe(
        true,
      );
    });

    it('a trigger without dedup_key gets one generated and returned', async () => {
      const { dedup_key: _d, ...noKey } = trigger;
      const response = await post(`${ingest.url}/v2/enqueue`, JSON.stringify(noKey));
      expect(response.status).toBe(202);
      expect(response.json.dedup_key).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('resolve and acknowledge → 202', async () => {
      const resolve = await post(
        `${ingest.url}/v2/enqueue`,
        JSON.stringify({ routing_key: routingKey, event_action: 'resolve', dedup_key: 'srv01/HTTP' }),
      );
      expect(resolve.status).toBe(202);
      const ack = await post(
        `${ingest.url}/v2/enqueue`,
        JSON.stringify({ routing_key: routingKey, event_action: 'acknowledge', dedup_key: 'srv01/HTTP' }),
      );
      expect(ack.status).toBe(202);
      expect((await stored()).some((e) => e.type === 'incident.resolved.external' && String(e.data.dedupKey).endsWith(':srv01/HTTP'))).toBe(
        true,
      );
    });

    it('an unknown routing key → 403; a missing one → 400; schema problems → 400 naming the field', async () => {
      const unknown = await post(
        `${ingest.url}/v2/enqueue`,
        JSON.stringify({ ...trigger, routing_key: 'R0UTINGKEY0000000000000000000002' }),
      );
      expect(unknown.status).toBe(403);
      const { routing_key: _r, ...noKey } = trigger;
      const missing = await post(`${ingest.url}/v2/enqueue`, JSON.stringify(noKey));
      expect(missing.status).toBe(400);
      expect(missing.json).toEqual({
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: ["'routing_key' is missing or blank"],
      });
      const bad = await post(
        `${ingest.url}/v2/enqueue`,
        JSON.stringify({ ...trigger, payload: { ...trigger.payload, severity: 'apocalyptic' } }),
      );
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json.errors)).toContain("'payload.severity'");
    });
  });

  it("a value past the contract's limits is a 400 naming it, never a 500", async () => {
    const notification = {
      version: '4',
      groupKey: 'g',
      status: 'firing',
      receiver: 'vigil',
      alerts: [
        { status: 'firing', labels: { alertname: 'X' }, annotations: {}, startsAt: '2026-11-22T10:00:00Z', fingerprint: 'f'.repeat(250) },
      ],
    };
    const response = await post(`${ingest.url}/webhooks/alertmanager`, JSON.stringify(notification), {
      authorization: `Bearer ${amToken}`,
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.json.problems)).toContain('fingerprint');
  });

  describe('Alertmanager', () => {
    const notification = {
      version: '4',
      groupKey: '{}:{alertname="HighLatency"}',
      status: 'firing',
      receiver: 'vigil',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighLatency', job: 'payment-api', severity: 'critical' },
          annotations: { summary: 'p95 above 2s' },
          startsAt: '2026-11-22T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: 'f1',
        },
        {
          status: 'resolved',
          labels: { alertname: 'Disk' },
          annotations: {},
          startsAt: '2026-11-22T09:00:00Z',
          endsAt: '2026-11-22T10:00:00Z',
          fingerprint: 'f2',
        },
      ],
    };

    it('each alert is stored by fingerprint; 200 after both are stored', async () => {
      const response = await post(`${ingest.url}/webhooks/alertmanager`, JSON.stringify(notification), {
        authorization: `Bearer ${amToken}`,
      });
      expect(response.status).toBe(200);
      const events = await stored();
      expect(events.some((e) => e.type === 'incident.triggered' && e.data.dedupKey === 'alertmanager:f1')).toBe(true);
      expect(events.some((e) => e.type === 'incident.resolved.external' && e.data.dedupKey === 'alertmanager:f2')).toBe(true);
    });

    it('a missing token → 401, a wrong one → 403, another version → 400', async () => {
      expect((await post(`${ingest.url}/webhooks/alertmanager`, JSON.stringify(notification))).status).toBe(401);
      expect(
        (await post(`${ingest.url}/webhooks/alertmanager`, JSON.stringify(notification), { authorization: 'Bearer nope-nope-nope-nope' }))
          .status,
      ).toBe(403);
      const v3 = await post(`${ingest.url}/webhooks/alertmanager`, JSON.stringify({ ...notification, version: '3' }), {
        authorization: `Bearer ${amToken}`,
      });
      expect(v3.status).toBe(400);
      expect(JSON.stringify(v3.json.problems)).toContain("'version'");
    });
  });

  it('counts accepted and rejected requests by endpoint and reason', async () => {
    const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
    expect(metrics).toMatch(
      /vigil_ingest_requests_total\{endpoint="pagerduty",outcome="accepted",reason="incident.triggered",service="ingest"\} 1/,
    );
    expect(metrics).toMatch(
      /vigil_ingest_requests_total\{endpoint="pagerduty",outcome="rejected",reason="signature_missing",service="ingest"\} 1/,
    );
    expect(metrics).toMatch(
      /vigil_ingest_requests_total\{endpoint="events_v2",outcome="rejected",reason="routing_key_unknown",service="ingest"\} 1/,
    );
    expect(metrics).toMatch(
      /vigil_ingest_requests_total\{endpoint="alertmanager",outcome="rejected",reason="token_wrong",service="ingest"\} 1/,
    );
  });
});

describe('secure by default', () => {
  it('an endpoint without its secret refuses every request, naming the variable to set', async () => {
    const bare = await startIngest({ PAGERDUTY_WEBHOOK_SECRETS: [], VIGIL_ROUTING_KEYS: [], ALERTMANAGER_TOKEN: undefined });
    try {
      const body = pdWebhook('incident.triggered', 'N1');
      const pd = await post(`${bare.url}/webhooks/pagerduty`, body, { 'x-pagerduty-signature': sign(body) });
      expect(pd.status).toBe(503);
      expect(String(pd.json.error)).toContain('PAGERDUTY_WEBHOOK_SECRETS');
      const ev = await post(`${bare.url}/v2/enqueue`, JSON.stringify({ routing_key: routingKey }));
      expect(ev.status).toBe(503);
      expect(String(ev.json.message)).toContain('VIGIL_ROUTING_KEYS');
      const am = await post(`${bare.url}/webhooks/alertmanager`, '{}', { authorization: `Bearer ${amToken}` });
      expect(am.status).toBe(503);
      expect(String(am.json.error)).toContain('ALERTMANAGER_TOKEN');
      expect(await collect(bare.bus.read())).toHaveLength(0);
    } finally {
      await bare.stop();
    }
  });
});

describe('durability', () => {
  it('with NATS down the sender gets 503 + Retry-After and nothing is stored; after it is back the retry is stored', async () => {
    const server = await startOwnedNatsServer();
    const ingest = await startIngest(secrets, { nats: server.url });
    try {
      const body = JSON.stringify({
        routing_key: routingKey,
        event_action: 'trigger',
        dedup_key: 'outage',
        payload: { summary: 's', source: 'x', severity: 'error' },
      });
      await server.kill();
      const refused = await post(`${ingest.url}/v2/enqueue`, body);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('7');
      await server.restart();
      const accepted = await eventually(
        async () => {
          const retry = await post(`${ingest.url}/v2/enqueue`, body);
          return retry.status === 202 ? retry : undefined;
        },
        { timeoutMs: 20_000, message: 'accepted after NATS came back' },
      );
      expect(accepted.json.dedup_key).toBe('outage');
      // The refused attempts stored nothing; the accepted one is stored. (A JetStream just back
      // from a restart may time out a first read while it recovers its streams: read again.)
      const stored = await eventually(() => collect(ingest.bus.read()), { timeoutMs: 20_000, message: 'the stream read back' });
      const events = stored.filter((s) => s.event.type === 'incident.triggered');
      expect(events).toHaveLength(1);
    } finally {
      await ingest.stop().catch(() => undefined);
      await server.dispose();
    }
  });
});
