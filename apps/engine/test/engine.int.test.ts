import { afterAll, expect, it } from 'vitest';
import type { VigilEvent } from '@vigil/events';
import { collect, eventually } from '@vigil/testing';
import { startEngine, type Engine } from '../src/engine.js';
import { freeServicePorts } from '../src/demo-setup.js';

/**
 * The whole engine in one process on its embedded defaults (the in-process bus, PGlite, the
 * in-memory cache): an alert in through the Events API goes through every service it needs.
 * With no service catalog there is nothing to probe, so the honest outcome is an escalation
 * that says why — never a guessed fix.
 */
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.stop();
});

it('runs every service in one process: an alert in, an incident out, escalated with its reason when nothing can be checked', async () => {
  const ports = await freeServicePorts();
  engine = await startEngine({ PATH: process.env.PATH, LOG_LEVEL: 'silent', ...ports });
  expect(Object.keys(engine.urls)).toEqual(
    expect.arrayContaining(['orchestrator', 'memory', 'investigator', 'reasoner', 'executor', 'verifier', 'approver', 'ingest']),
  );
  for (const url of Object.values(engine.urls)) {
    expect((await fetch(`${url.replace('0.0.0.0', '127.0.0.1')}/readyz`)).status).toBe(200);
  }
  const ingest = engine.urls['ingest']!.replace('0.0.0.0', '127.0.0.1');
  // Secure by default: the generated routing key is required.
  const refused = await fetch(`${ingest}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: 'guess',
      event_action: 'trigger',
      payload: { summary: 's', source: 'payment-api', severity: 'critical' },
    }),
  });
  expect(refused.status).toBe(403);
  const accepted = await fetch(`${ingest}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: engine.routingKey,
      event_action: 'trigger',
      dedup_key: 'payment-api/latency',
      payload: { summary: 'payment-api p95 latency above 2s', source: 'payment-api', severity: 'critical' },
    }),
  });
  expect(accepted.status).toBe(202);
  const escalated = await eventually(
    async () => {
      const [found] = await collect(engine!.bus.read({ types: ['incident.escalated'] }));
      return found?.event as VigilEvent<'incident.escalated'> | undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(escalated.data.service).toBe('payment-api');
  const types = (await collect(engine.bus.read({ incidentId: escalated.incidentId ?? '' }))).map((s) => s.event.type);
  expect(types).toEqual(
    expect.arrayContaining(['investigation.requested', 'hypothesis.received', 'context.requested', 'context.retrieved']),
  );
  const incident = (await (
    await fetch(`${engine.urls['orchestrator']!.replace('0.0.0.0', '127.0.0.1')}/incidents/${escalated.incidentId}`, {
      headers: { authorization: `Bearer ${engine.apiToken}` },
    })
  ).json()) as {
    incident: { stage: string };
  };
  expect(incident).toMatchObject({ incident: { stage: 'ESCALATED' } });
}, 180_000);
