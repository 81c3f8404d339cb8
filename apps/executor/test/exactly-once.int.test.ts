import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus, type Subscription } from '@vigil/bus';
import { parseCatalog } from '@vigil/catalog';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { collect, databaseUrl, eventually, natsUrl, sleep, uniqueName } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { buildExecutor } from '../src/service.js';
import { claimExecution } from '../src/store.js';

/**
 * Exactly once, on real JetStream and Postgres: the side effect is counted in the target (an
 * HTTP endpoint that records each call), whatever the bus redelivers or a replay brings back.
 */
const prefix = uniqueName('exec');
const schema = uniqueName('executor');
const log = createLogger({ service: 'executor-test', level: 'silent' });
let bus: Bus;
let db: Db;
let sub: Subscription;
let closeSweeper: () => Promise<void>;
let sweep: () => Promise<number>;
let calls = 0;
let closeEndpoint: () => Promise<void>;

beforeAll(async () => {
  await loadParsers();
  const server = createServer((_req, res) => {
    calls += 1;
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeEndpoint = () => new Promise((resolve) => server.close(() => resolve()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/flush`;
  bus = await createNatsBus({ url: await natsUrl(), name: 'executor-test', prefix });
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  const built = await buildExecutor(
    {
      bus,
      db,
      log,
      actions: builtInActions(),
      safety: createSafetyCheck(),
      catalog: parseCatalog(`services:\n  payment-api:\n    executor:\n      endpoints:\n        flush: { url: ${url} }\n`, {}),
      scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
      unknownAfterMs: 1_000,
    },
    { concurrency: 4, sweepMs: 60_000 },
  );
  sub = await bus.consume({ durable: 'executor', ...built.consumer });
  closeSweeper = built.sweeper.close;
  sweep = built.sweep;
});

afterAll(async () => {
  await sub?.stop();
  await closeSweeper?.();
  await closeEndpoint?.();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  await bus?.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

const request = (incidentId: string, executionId: string, planHash = 'b'.repeat(64), approvalRequired = false) =>
  createEvent(
    'execution.requested',
    {
      executionId,
      service: 'payment-api',
      planHash,
      stepIndex: 0,
      step: { kind: 'action', id: 'step-1', action: 'http.request', params: { endpoint: 'flush' }, reasoning: '' },
      mode: 'run',
      approvalRequired,
      evidenceFacts: {},
    },
    { source: 'orchestrator', incidentId },
  );

const completions = async (incidentId: string) =>
  (await collect(bus.read({ types: ['execution.completed'], incidentId }))).map((s) => s.event as VigilEvent<'execution.completed'>);

it('a command delivered three times (a redelivery, a replay) runs once and answers with the same result', async () => {
  const incidentId = uniqueName('inc');
  const executionId = `${incidentId}:step-1:run`;
  calls = 0;
  const first = request(incidentId, executionId);
  await bus.publish(first);
  const [done] = await eventually(async () => {
    const found = await completions(incidentId);
    return found.length > 0 ? found : undefined;
  });
  expect(done!.data).toMatchObject({ executionId, stepId: 'step-1', status: 'succeeded' });
  expect(done!.causationId).toBe(first.id);
  // The same command again, as new messages (the orchestrator's outbox relayed twice, a replay).
  await bus.publish(request(incidentId, executionId));
  await bus.publish(request(incidentId, executionId));
  await sleep(800);
  expect(calls).toBe(1);
  // The answer is the recorded one, published with the same id: stored once.
  expect((await completions(incidentId)).map((e) => e.id)).toEqual([done!.id]);
});

it('a step whose executor died mid-action is reported unknown after its deadline, and never run', async () => {
  const incidentId = uniqueName('inc');
  const executionId = `${incidentId}:step-1:run`;
  calls = 0;
  // What a crash leaves behind: the claim, and no result.
  await claimExecution(db, {
    executionId,
    incidentId,
    stepId: 'step-1',
    mode: 'run',
    timeoutMs: 10 * 60_000,
    requestEventId: '0190f0e0-0000-7000-8000-000000000001',
    correlationId: incidentId,
  });
  // The command redelivered before the deadline: not run again, not yet declared.
  await bus.publish(request(incidentId, executionId));
  await sleep(500);
  expect(await completions(incidentId)).toEqual([]);
  expect(await sweep()).toBe(0);
  // Its deadline passes (by the database's clock, the only one claims go by).
  await db.query("UPDATE executions SET deadline_at = now() - interval '1 hour' WHERE execution_id = $1", [executionId]);
  expect(await sweep()).toBe(1);
  const [unknown] = await completions(incidentId);
  expect(unknown!.data).toMatchObject({ executionId, stepId: 'step-1', status: 'unknown', summary: expect.stringMatching(/not retried/) });
  expect(calls).toBe(0);
  expect(await sweep()).toBe(0);
});

const approvalEvents = (incidentId: string, planHash: string) => {
  const plan = {
    steps: [{ kind: 'action' as const, id: 'step-1', action: 'http.request', params: { endpoint: 'flush' }, reasoning: '' }],
    confidence: 0.8,
    risk: 'LOW' as const,
    producedBy: 'runbook-planner',
  };
  return {
    requested: createEvent(
      'approval.requested',
      {
        service: 'payment-api',
        planHash,
        plan,
        risk: 'LOW',
        confidence: 0.8,
        reasons: ['match below 0.85'],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
      { source: 'orchestrator', incidentId },
    ),
    decided: createEvent(
      'approval.decided',
      { planHash, decision: 'approved', decidedBy: [{ id: 'ana' }], via: 'cli', decidedAt: new Date().toISOString() },
      { source: 'approver', incidentId },
    ),
  };
};

it('a plan a human was asked to approve runs only once approved, and only with the approved hash', async () => {
  const incidentId = uniqueName('inc');
  const approvedHash = 'c'.repeat(64);
  const { requested, decided } = approvalEvents(incidentId, approvedHash);
  calls = 0;
  // The command arrives before anything about the approval is heard: it waits, it does not run.
  await bus.publish(request(incidentId, `${incidentId}:0:run`, approvedHash, true));
  await sleep(700);
  expect(calls).toBe(0);
  await bus.publish(requested);
  await sleep(300);
  await sleep(700);
  expect(calls).toBe(0);
  expect(await completions(incidentId)).toEqual([]);
  await bus.publish(decided);
  const [done] = await eventually(async () => {
    const found = await completions(incidentId);
    return found.length > 0 ? found : undefined;
  });
  expect(done!.data.status).toBe('succeeded');
  expect(calls).toBe(1);
  // A plan changed after approval (another hash) is refused, whatever the command says.
  await bus.publish(request(incidentId, `${incidentId}:1:run`, 'd'.repeat(64), true));
  const refused = await eventually(async () => (await completions(incidentId)).find((e) => e.data.executionId === `${incidentId}:1:run`));
  expect(refused.data).toMatchObject({
    status: 'refused',
    summary: expect.stringMatching(/differs from the one a human was asked to approve/),
  });
  expect(calls).toBe(1);
});

it('a compensation runs only if this executor recorded it as the inverse of a step it ran', async () => {
  const incidentId = uniqueName('inc');
  calls = 0;
  const forged = createEvent(
    'execution.requested',
    {
      executionId: `${incidentId}:0:compensate`,
      service: 'payment-api',
      planHash: 'e'.repeat(64),
      stepIndex: 0,
      step: { kind: 'action', id: 'undo', action: 'http.request', params: { endpoint: 'flush' }, reasoning: '' },
      mode: 'compensate',
      evidenceFacts: {},
    },
    { source: 'orchestrator', incidentId },
  );
  await bus.publish(forged);
  const refused = await eventually(async () => (await completions(incidentId))[0]);
  expect(refused.data).toMatchObject({
    mode: 'compensate',
    status: 'refused',
    summary: expect.stringMatching(/not the inverse of any step/),
  });
  expect(calls).toBe(0);
});
