import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import type { VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, natsUrl, redisUrl, uniqueName } from '@vigil/testing';
import { startSplit } from '../src/split.js';
import { freeServicePorts } from '../src/demo-setup.js';

/**
 * `vigil up --split`: every service its own OS process on real NATS, PostgreSQL and Redis — the
 * docker-compose topology without Docker. An alert goes in at ingest's process and comes out as
 * an incident the orchestrator's process decided, through every other process on the way.
 */
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it('runs each service as its own process on shared infrastructure', async () => {
  const prefix = uniqueName('split');
  const nats = await natsUrl();
  const database = await databaseUrl();
  const schemas = Object.fromEntries(
    ['ORCHESTRATOR', 'MEMORY', 'INVESTIGATOR', 'EXECUTOR', 'APPROVER'].map((s) => [
      `${s}_DB_SCHEMA`,
      uniqueName(s.toLowerCase())
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, '_'),
    ]),
  ) as Record<string, string>;
  const ports = await freeServicePorts();
  cleanups.push(() => deleteNatsStreams({ url: nats, prefix }));
  cleanups.push(async () => {
    const admin = new pg.Client({ connectionString: database });
    await admin.connect();
    for (const schema of Object.values(schemas)) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });
  const split = startSplit({
    PATH: process.env.PATH,
    NATS_URL: nats,
    DATABASE_URL: database,
    REDIS_URL: await redisUrl(),
    VIGIL_SUBJECT_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...schemas,
    ...ports,
  });
  cleanups.push(() => split.stop());
  expect(split.children.map((c) => c.name)).toEqual([
    'orchestrator',
    'memory',
    'investigator',
    'reasoner',
    'executor',
    'verifier',
    'approver',
    'ingest',
  ]);
  for (const [name, port] of Object.entries(ports)) {
    await eventually(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      { timeoutMs: 120_000, message: `${name} ready` },
    );
  }
  const bus: Bus = await createNatsBus({ url: nats, name: 'split-test', prefix, streams: 'existing' });
  cleanups.push(() => bus.close());
  const accepted = await fetch(`http://127.0.0.1:${ports.INGEST_PORT}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      routing_key: split.routingKey,
      event_action: 'trigger',
      dedup_key: 'payment-api/latency',
      payload: { summary: 'payment-api p95 latency above 2s', source: 'payment-api', severity: 'critical' },
    }),
  });
  expect(accepted.status).toBe(202);
  // No service catalog: nothing can be checked, so the honest end is an escalation.
  const escalated = await eventually(
    async () => {
      const [found] = await collect(bus.read({ types: ['incident.escalated'] }));
      return found?.event as VigilEvent<'incident.escalated'> | undefined;
    },
    { timeoutMs: 90_000 },
  );
  const sources = new Set((await collect(bus.read({ incidentId: escalated.incidentId ?? '' }))).map((s) => s.event.source));
  expect([...sources]).toEqual(expect.arrayContaining(['orchestrator', 'investigator', 'memory']));
  const incident = await fetch(`http://127.0.0.1:${ports.ORCHESTRATOR_PORT}/incidents/${escalated.incidentId}`, {
    headers: { authorization: `Bearer ${split.apiToken}` },
  });
  expect(((await incident.json()) as { incident: { stage: string } }).incident.stage).toBe('ESCALATED');
}, 300_000);
