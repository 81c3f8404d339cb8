import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { createEvent, exampleData } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, natsUrl, redisUrl, startServiceProcess, uniqueName } from '@vigil/testing';

const prefix = uniqueName('crash');
const schema = uniqueName('crash');
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('killed between committing state and publishing it, the orchestrator publishes each command exactly once after a restart, and no incident is stuck', async () => {
  const infra = { NATS_URL: await natsUrl(), DATABASE_URL: await databaseUrl(), REDIS_URL: await redisUrl(), VIGIL_SUBJECT_PREFIX: prefix };
  cleanups.push(() => deleteNatsStreams({ url: infra.NATS_URL, prefix }));
  const db = await createPostgresDb({ url: infra.DATABASE_URL, schema });
  cleanups.push(async () => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });
  const bus = await createNatsBus({ url: infra.NATS_URL, name: 'crash-test', prefix });
  cleanups.push(() => bus.close());
  const port = await freePort();
  const start = (env: Record<string, string>) =>
    startServiceProcess({
      entry: 'apps/orchestrator/src/main.ts',
      port,
      env: {
        ...infra,
        ORCHESTRATOR_HOST: '127.0.0.1',
        ORCHESTRATOR_PORT: String(port),
        ORCHESTRATOR_DB_SCHEMA: schema,
        ORCHESTRATOR_ACK_WAIT_MS: '3000',
        ...env,
      },
    });
  const trigger = (key: string) =>
    bus.publish(createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: key }, { source: 'test' }));

  // A relay that never runs after its first (empty) pass leaves committed-but-unpublished commands
  // to crash on. (Every 5 s, one pass could land between the wait below and the kill and empty the outbox.)
  const first = await start({ ORCHESTRATOR_RELAY_ON_COMMIT: 'false', ORCHESTRATOR_RELAY_INTERVAL_MS: '600000' });
  for (let i = 0; i < 30; i++) await trigger(`before-${i}`);
  const pendingAtCrash = await eventually(
    async () => {
      const { rows } = await db
        .query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')
        .catch(() => ({ rows: [] as Array<{ n: number }> }));
      return (rows[0]?.n ?? 0) >= 10 ? rows[0]!.n : undefined;
    },
    { message: 'commands committed but not yet published' },
  );
  await first.kill();
  const unpublished = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
  // The crash landed between commit and publish.
  expect(pendingAtCrash).toBeGreaterThan(0);
  expect(unpublished.rows[0]!.n).toBeGreaterThan(0);

  for (let i = 0; i < 10; i++) await trigger(`while-down-${i}`); // accepted by JetStream while the orchestrator is down
  // A repeat of an open incident's alert: it changes no stage and sends no command, so nothing
  // the wait below watches says it was handled; its inbox record (same transaction) does.
  const repeat = createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: 'before-0' }, { source: 'test' });
  await bus.publish(repeat);
  const second = await start({});
  cleanups.push(() => second.stop());

  await eventually(
    async () => {
      const { rows } = await db.query<{ open: number; unpublished: number; repeat: number }>(
        `SELECT (SELECT count(*)::int FROM incidents WHERE stage = 'INVESTIGATING') AS open,
                (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS unpublished,
                (SELECT count(*)::int FROM vigil_inbox WHERE consumer = 'orchestrator' AND event_id = $1) AS repeat`,
        [repeat.id],
      );
      return rows[0]!.open === 40 && rows[0]!.unpublished === 0 && rows[0]!.repeat === 1;
    },
    { timeoutMs: 60_000, message: '40 incidents investigating, the repeated alert handled and the outbox empty' },
  );

  const published = (await collect(bus.read({ types: ['investigation.requested'] }))).map((s) => s.event);
  const perIncident = new Map<string, number>();
  for (const event of published) perIncident.set(event.incidentId!, (perIncident.get(event.incidentId!) ?? 0) + 1);
  expect(perIncident.size).toBe(40);
  expect([...perIncident.values()].every((n) => n === 1)).toBe(true);
  const outboxIds = (await db.query<{ event_id: string }>('SELECT event_id FROM outbox')).rows.map((r) => r.event_id);
  expect(new Set(published.map((e) => e.id))).toEqual(new Set(outboxIds));
  const repeated = await db.query<{ occurrences: number }>(
    "SELECT (state->>'occurrences')::int AS occurrences FROM incidents WHERE dedup_key = 'before-0'",
  );
  expect(repeated.rows).toEqual([{ occurrences: 2 }]);
  expect(await second.stop()).toBe(0);
}, 120_000);
