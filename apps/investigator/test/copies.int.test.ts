import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus, type Subscription } from '@vigil/bus';
import { emptyCatalog } from '@vigil/catalog';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, uuidv7, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { collect, databaseUrl, eventually, natsUrl, sleep, uniqueName } from '@vigil/testing';
import { defaultPostgresThresholds } from '../src/domain/postgres-assessment.js';
import { defaultRedisThresholds } from '../src/domain/redis-assessment.js';
import { buildInvestigator } from '../src/service.js';

/**
 * Three copies of the investigator on one durable consumer and one database: every incident gets
 * exactly one first hypothesis — whether it is answered at once, by the note, or by whichever
 * copy's timer sees its Cleric wait run out first.
 */
const prefix = uniqueName('inv-copies');
const schema = uniqueName('investigator');
const log = createLogger({ service: 'investigator-test', level: 'silent' });
const buses: Bus[] = [];
const subs: Subscription[] = [];
const timers: Array<() => Promise<void>> = [];
let db: Db;

beforeAll(async () => {
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  for (let copy = 0; copy < 3; copy += 1) {
    const bus = await createNatsBus({ url: await natsUrl(), name: `investigator-copy-${copy}`, prefix });
    buses.push(bus);
    const built = await buildInvestigator(
      {
        bus,
        db,
        log,
        catalog: emptyCatalog,
        cleric: { ids: ['PCLERIC'], names: [], emails: [] },
        probes: { timeoutMs: 1_000, slowMs: 1_000, postgres: defaultPostgresThresholds, redis: defaultRedisThresholds },
      },
      { concurrency: 4, tickMs: 50 },
    );
    subs.push(await bus.consume({ durable: 'investigator', ...built.consumer }));
    timers.push(built.timer.close);
  }
});

afterAll(async () => {
  for (const sub of subs) await sub.stop();
  for (const close of timers) await close();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  for (const bus of buses) await bus.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

it('ten incidents, each asked twice, half answered by three racing timers: one first hypothesis each', async () => {
  const incidents = Array.from({ length: 10 }, (_, i) => ({
    id: uniqueName(`inc${i}`),
    external: i % 2 === 0 ? uniqueName('PD') : undefined,
  }));
  const requests = incidents.map(({ id, external }) =>
    createEvent(
      'investigation.requested',
      {
        service: 'payment-api',
        title: 'payment-api p95 latency above 2s',
        labels: {},
        clericWaitMs: 400,
        ...(external ? { externalIncidentId: external } : {}),
      },
      { source: 'orchestrator', incidentId: id },
    ),
  );
  await Promise.all(requests.map((r, i) => buses[i % 3]!.publish(r)));
  await Promise.all(requests.map((r, i) => buses[(i + 1) % 3]!.publish({ ...r, id: uuidv7() })));
  const first = await eventually(
    async () => {
      const found = (await collect(buses[0]!.read({ types: ['hypothesis.received'] }))).map(
        (s) => s.event as VigilEvent<'hypothesis.received'>,
      );
      return new Set(found.map((e) => e.incidentId)).size >= 10 ? found : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await sleep(1_000);
  const all = (await collect(buses[0]!.read({ types: ['hypothesis.received'] }))).map((s) => s.event);
  expect(all).toHaveLength(10);
  expect(new Set(first.map((e) => e.incidentId))).toEqual(new Set(incidents.map((i) => i.id)));
}, 120_000);
