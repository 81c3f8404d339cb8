import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus, type Subscription } from '@vigil/bus';
import { parseCatalog } from '@vigil/catalog';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, uuidv7, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { collect, databaseUrl, eventually, natsUrl, sleep, uniqueName } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { buildExecutor } from '../src/service.js';

/**
 * Three copies of the executor on the same durable consumer and the same database, each with its
 * own connection to JetStream: every step runs exactly once, counted in the target, even when
 * every command is also delivered a second time.
 */
const prefix = uniqueName('copies');
const schema = uniqueName('executor');
const log = createLogger({ service: 'executor-test', level: 'silent' });
const hits = new Map<string, number>();
const buses: Bus[] = [];
const subs: Subscription[] = [];
const closers: Array<() => Promise<void>> = [];
let db: Db;
let closeEndpoint: () => Promise<void>;
let url: string;

beforeAll(async () => {
  await loadParsers();
  const server = createServer((req, res) => {
    const key = req.url ?? '';
    hits.set(key, (hits.get(key) ?? 0) + 1);
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeEndpoint = () => new Promise((resolve) => server.close(() => resolve()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  const endpoints = Array.from({ length: 12 }, (_, i) => `        e${i}: { url: ${url}/e${i} }`).join('\n');
  const catalog = parseCatalog(`services:\n  payment-api:\n    executor:\n      endpoints:\n${endpoints}\n`, {});
  for (let copy = 0; copy < 3; copy += 1) {
    const bus = await createNatsBus({ url: await natsUrl(), name: `executor-copy-${copy}`, prefix });
    buses.push(bus);
    const built = await buildExecutor(
      {
        bus,
        db,
        log,
        actions: builtInActions(),
        safety: createSafetyCheck(),
        catalog,
        scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
        unknownAfterMs: 60_000,
      },
      { concurrency: 4, sweepMs: 60_000 },
    );
    subs.push(await bus.consume({ durable: 'executor', ...built.consumer }));
    closers.push(built.sweeper.close);
  }
});

afterAll(async () => {
  for (const sub of subs) await sub.stop();
  for (const close of closers) await close();
  await closeEndpoint?.();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  for (const bus of buses) await bus.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

it('twelve steps, each sent twice to three copies: each runs once and is answered once', async () => {
  const incidentId = uniqueName('inc');
  const commands = Array.from({ length: 12 }, (_, i) =>
    createEvent(
      'execution.requested',
      {
        executionId: `${incidentId}:${i}:run`,
        service: 'payment-api',
        planHash: 'f'.repeat(64),
        stepIndex: i,
        step: { kind: 'action', id: `step-${i}`, action: 'http.request', params: { endpoint: `e${i}` }, reasoning: '' },
        mode: 'run',
        evidenceFacts: {},
      },
      { source: 'orchestrator', incidentId },
    ),
  );
  // Every command twice, as new messages, through different copies' connections.
  await Promise.all(commands.map((command, i) => buses[i % 3]!.publish(command)));
  await Promise.all(commands.map((command, i) => buses[(i + 1) % 3]!.publish({ ...command, id: uuidv7() })));
  const done = await eventually(
    async () => {
      const found = (await collect(buses[0]!.read({ types: ['execution.completed'], incidentId }))).map(
        (s) => s.event as VigilEvent<'execution.completed'>,
      );
      return found.length >= 12 ? found : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await sleep(1_000);
  expect(new Set(done.map((e) => e.data.executionId)).size).toBe(12);
  expect((await collect(buses[0]!.read({ types: ['execution.completed'], incidentId }))).length).toBe(12);
  for (let i = 0; i < 12; i += 1) expect(hits.get(`/e${i}`)).toBe(1);
}, 120_000);
