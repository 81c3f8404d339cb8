import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, exampleData, type ContextMatch, type VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, natsUrl, startServiceProcess, uniqueName, type ServiceProcess } from '@vigil/testing';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const windowMs = 2_000;

it('learns over real JetStream and PostgreSQL: a re-fired fix is ineffective, a fix that held is proven, even across a crash', async () => {
  const prefix = uniqueName('memory');
  const schema = uniqueName('memory');
  const nats = await natsUrl();
  const pg = await databaseUrl();
  cleanups.push(() => deleteNatsStreams({ url: nats, prefix }));
  const bus: Bus = await createNatsBus({ url: nats, name: 'memory-process-test', prefix });
  cleanups.push(() => bus.close());
  const db: Db = await createPostgresDb({ url: pg, schema });
  cleanups.push(async () => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });
  const start = async (promotionIntervalMs: number): Promise<ServiceProcess> => {
    const port = await freePort();
    const service = await startServiceProcess({
      entry: 'apps/memory/src/main.ts',
      port,
      env: {
        NATS_URL: nats,
        VIGIL_SUBJECT_PREFIX: prefix,
        DATABASE_URL: pg,
        MEMORY_DB_SCHEMA: schema,
        MEMORY_PORT: String(port),
        MEMORY_STABILITY_WINDOW_MS: String(windowMs),
        MEMORY_PROMOTION_INTERVAL_MS: String(promotionIntervalMs),
      },
    });
    cleanups.push(() => service.kill());
    return service;
  };
  const standingIn = async (incidentId: string) =>
    (await db.query<{ standing: string }>('SELECT standing FROM learned_incidents WHERE incident_id = $1', [incidentId])).rows[0]?.standing;

  // The first copy promotes only once, at start, before anything is recorded: it cannot promote what follows.
  const first = await start(3_600_000);
  const resolvedAt = new Date();
  const resolved = (incidentId: string, dedupKey: string, alertName: string) =>
    createEvent(
      'incident.resolved',
      { ...exampleData['incident.resolved'], dedupKey, alertName, resolvedAt: resolvedAt.toISOString() },
      { source: 'orchestrator', incidentId },
    );
  await bus.publish(resolved('inc-held', 'payment-api/HighLatency', 'HighLatency'));
  await bus.publish(resolved('inc-failed', 'payment-api/PoolExhausted', 'PoolExhausted'));
  await bus.publish(
    createEvent(
      'incident.triggered',
      {
        ...exampleData['incident.triggered'],
        dedupKey: 'payment-api/PoolExhausted',
        alertName: 'PoolExhausted',
        firedAt: new Date(resolvedAt.getTime() + 100).toISOString(),
      },
      { source: 'ingest' },
    ),
  );
  await eventually(async () => (await standingIn('inc-failed')) === 'ineffective', { message: 'the re-fired fix marked ineffective' });
  const recorded = await eventually(async () => {
    const response = await fetch(`${first.url}/incidents/inc-held`);
    return response.ok ? ((await response.json()) as { windowEndsAt: string; provenance: { mttrMs: number } }) : undefined;
  });
  expect(recorded.windowEndsAt).toBe(new Date(resolvedAt.getTime() + windowMs).toISOString());
  expect(recorded.provenance.mttrMs).toBe(41_000);

  // A crash: nothing is cleaned up. The window's end is in the row, so a new copy promotes it.
  await first.kill();
  expect(await standingIn('inc-held')).toBe('candidate');
  const second = await start(100);
  await eventually(async () => (await standingIn('inc-held')) === 'proven', { message: 'the fix that held promoted after the restart' });
  expect(await standingIn('inc-failed')).toBe('ineffective');

  const search = await fetch(`${second.url}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: exampleData['context.requested'].query, service: 'payment-api' }),
  });
  const { matches } = (await search.json()) as { matches: ContextMatch[] };
  expect(matches.some((m) => m.citation.kind === 'runbook')).toBe(true);
  expect(Object.fromEntries(matches.filter((m) => m.citation.kind === 'incident').map((m) => [m.citation.documentId, m.standing]))).toEqual(
    { 'inc-held': 'proven', 'inc-failed': 'ineffective' },
  );

  const request = createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator', incidentId: 'inc-next' });
  await bus.publish(request);
  const answer = await eventually(async () => {
    const found = await collect(bus.read({ types: ['context.retrieved'] }));
    return found[0]?.event as VigilEvent<'context.retrieved'> | undefined;
  });
  expect(answer.causationId).toBe(request.id);
  expect(answer.data.matches.find((m) => m.citation.documentId === 'inc-held')).toMatchObject({
    citation: { kind: 'incident' },
    standing: 'proven',
  });
  expect(await second.stop()).toBe(0);
});
