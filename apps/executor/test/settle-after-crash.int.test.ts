import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, type ExecutionRequested, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck } from '@vigil/policy';
import { collect, natsUrl, databaseUrl, uniqueName, type FaultDatabase } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { approvalHandlers } from '../src/approvals.js';
import { buildExecutor } from '../src/service.js';
import { claimExecution, finishExecution, overdueExecutions, takeOverExecution } from '../src/store.js';
import { operatorCatalog, operatorTarget, sessionAlive } from './operator-role.js';

/**
 * An executor killed while it ended a Postgres session leaves a claim `running` and no result.
 * Past the claim's deadline (the attempt can no longer act) the sweeper reads the target instead
 * of guessing: the session gone means the step took effect, and the incident goes on to its proof;
 * the same session still there means the signal never left, so the step runs now — once, by the
 * one copy that takes the claim over. Found by the engine's faults test, where a SIGKILL in that
 * window turned a healable incident into an `execution_unknown` escalation.
 */
const prefix = uniqueName('settle');
const schema = uniqueName('executor');
const log = createLogger({ service: 'executor-test', level: 'silent' });
let fault: FaultDatabase;
let bus: Bus;
let db: Db;
let sweep: () => Promise<number>;
let closeSweeper: () => Promise<void>;
let deps: Parameters<typeof buildExecutor>[0];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const target = await operatorTarget(cleanups);
  fault = target.fault;
  const role = target.operator;
  const operatorDsn = role.dsn;
  bus = await createNatsBus({ url: await natsUrl(), name: 'settle-test', prefix });
  cleanups.push(async () => deleteNatsStreams({ url: await natsUrl(), prefix }));
  cleanups.push(() => bus.close());
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  cleanups.push(async () => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });
  deps = {
    bus,
    db,
    log,
    actions: builtInActions(),
    safety: createSafetyCheck(),
    catalog: operatorCatalog(operatorDsn),
    scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
    unknownAfterMs: 1_000,
  };
  const built = await buildExecutor(deps, { concurrency: 1, sweepMs: 60_000 });
  sweep = built.sweep;
  closeSweeper = built.sweeper.close;
  cleanups.push(() => closeSweeper());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Its deadline passes, by the database's clock (the only one claims go by). */
const expire = async (executionId: string) =>
  db.query("UPDATE executions SET deadline_at = now() - interval '1 hour' WHERE execution_id = $1", [executionId]);

/** What a SIGKILL mid-action leaves behind: the claim with its command, and no result. */
async function crashedWhileTerminating(
  pid: number,
  approvalRequired = false,
  facts: Record<string, unknown> = {},
): Promise<{ incidentId: string; executionId: string }> {
  const incidentId = uniqueName('inc');
  const executionId = `${incidentId}:0:run`;
  const request: ExecutionRequested = {
    executionId,
    service: 'payment-api',
    planHash: 'a'.repeat(64),
    stepIndex: 0,
    step: { kind: 'action', id: 'step-1', action: 'postgres.terminate_backend', params: { pid }, reasoning: '' },
    mode: 'run',
    approvalRequired,
    evidenceFacts: { blocker_pid: pid, ...facts },
  };
  await claimExecution(db, {
    executionId,
    incidentId,
    stepId: 'step-1',
    mode: 'run',
    timeoutMs: 10 * 60_000,
    requestEventId: '0190f0e0-0000-7000-8000-000000000002',
    correlationId: incidentId,
    request,
  });
  return { incidentId, executionId };
}

const completions = async (incidentId: string) =>
  (await collect(bus.read({ types: ['execution.completed'], incidentId }))).map((s) => s.event as VigilEvent<'execution.completed'>);

const alive = (pid: number): Promise<boolean> => sessionAlive(fault, pid);

it('a session the crashed executor had already ended: the step is settled as succeeded, from the target', async () => {
  const blocker = await fault.connect('payment-api');
  const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const { incidentId, executionId } = await crashedWhileTerminating(pid);
  // The signal the executor sent just before it was killed.
  const admin = new pg.Client({ connectionString: fault.dsn });
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
  await admin.end();
  expect(await alive(pid)).toBe(false);

  expect(await sweep()).toBe(0); // not before the claim's deadline
  await expire(executionId);
  expect(await sweep()).toBe(1);
  const [settled] = await completions(incidentId);
  expect(settled!.data).toMatchObject({
    executionId,
    stepId: 'step-1',
    mode: 'run',
    status: 'succeeded',
    summary: expect.stringMatching(/executor stopped while this step ran; the target shows it took effect: pid \d+ is no longer a session/),
  });
  expect(await sweep()).toBe(0);
});

it('the session still there: the attempt never signalled it, so the step runs now, once, in one copy', async () => {
  const blocker = await fault.connect('payment-api');
  const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const { incidentId, executionId } = await crashedWhileTerminating(pid);
  await expire(executionId);
  // Two copies sweeping at once: one takes the claim over and runs the step, the other skips it.
  expect((await Promise.all([sweep(), sweep()])).sort()).toEqual([0, 1]);
  const done = await completions(incidentId);
  expect(done).toHaveLength(1);
  expect(done[0]!.data).toMatchObject({ executionId, status: 'succeeded', summary: expect.stringMatching(/^terminated pid \d+/) });
  expect(await alive(pid)).toBe(false);
  expect(await sweep()).toBe(0);
});

it('a pid now held by a session that began after the step: the one it was to end has gone — settled, and left alone', async () => {
  const other = await fault.connect('payment-api');
  const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  // As if the step began before this session did (the blocker it ended had this pid before).
  const { incidentId, executionId } = await crashedWhileTerminating(pid);
  await db.query("UPDATE executions SET started_at = now() - interval '1 minute' WHERE execution_id = $1", [executionId]);
  await expire(executionId);
  expect(await sweep()).toBe(1);
  const [settled] = await completions(incidentId);
  expect(settled!.data).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/now a session that began after the step/) });
  expect(await alive(pid)).toBe(true);
});

it('where the evidence recorded when the blocker began, that decides, whatever the two clocks say', async () => {
  // The target's clock ahead of the store's: the blocker seems to have begun after the claim.
  const blocker = await fault.connect('payment-api');
  const { pid, began } = (
    await blocker.query<{ pid: number; began: string }>(
      `SELECT pg_backend_pid() AS pid, to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS began
       FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
    )
  ).rows[0]!;
  const same = await crashedWhileTerminating(pid, false, { blocker_backend_start: began });
  await db.query("UPDATE executions SET started_at = now() - interval '1 minute' WHERE execution_id = $1", [same.executionId]);
  await expire(same.executionId);
  expect(await sweep()).toBe(1);
  // Still the session the step was to end, so not "succeeded" (read by the claim's start alone it
  // would have been: a fix recorded that never happened). It was never signalled, so the step is
  // taken over — and its own identity check, bound by the claim's start, fails safe: refused,
  // the session left alone, and the saga escalates.
  const [ran] = await completions(same.incidentId);
  expect(ran!.data).toMatchObject({ status: 'refused', summary: expect.stringMatching(/is not the session the step was to end/) });
  expect(await alive(pid)).toBe(true);

  // The pid now held by a session newer than the one the evidence named: that one has gone.
  const other = await fault.connect('payment-api');
  const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const reused = await crashedWhileTerminating(otherPid, false, { blocker_backend_start: '2000-01-01T00:00:00.000000Z' });
  await expire(reused.executionId);
  expect(await sweep()).toBe(1);
  const [settled] = await completions(reused.incidentId);
  expect(settled!.data).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/now a session that began after 2000-01-01/) });
  expect(await alive(otherPid)).toBe(true);

  // A session older than the evidence says (facts from two findings, say): nothing tells whether
  // the step took effect, so it is not said to have — unknown, and the session left alone.
  const older = await fault.connect('payment-api');
  const olderPid = (await older.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const mixed = await crashedWhileTerminating(olderPid, false, { blocker_backend_start: '2999-01-01T00:00:00.000000Z' });
  await expire(mixed.executionId);
  expect(await sweep()).toBe(1);
  const [unknown] = await completions(mixed.incidentId);
  expect(unknown!.data).toMatchObject({ status: 'unknown' });
  expect(await alive(olderPid)).toBe(true);
});

it('a sweeper closed during its first sweep stops then, without waiting out the interval', async () => {
  // Ten minutes between sweeps: waiting for the next one would outlast the test.
  const built = await buildExecutor(deps, { concurrency: 1, sweepMs: 600_000 });
  await built.sweeper.close();
});

it('a claim from before commands were recorded (no request) is still reported unknown', async () => {
  const incidentId = uniqueName('inc');
  await claimExecution(db, {
    executionId: `${incidentId}:0:run`,
    incidentId,
    stepId: 'step-1',
    mode: 'run',
    timeoutMs: 10 * 60_000,
    requestEventId: '0190f0e0-0000-7000-8000-000000000003',
    correlationId: incidentId,
  });
  await expire(`${incidentId}:0:run`);
  expect(await sweep()).toBe(1);
  const [unknown] = await completions(incidentId);
  expect(unknown!.data).toMatchObject({ status: 'unknown', summary: expect.stringMatching(/not retried/) });
});

it('a sweeper that read the claim before another copy took it over cannot settle it: the copy running the step reports', async () => {
  const blocker = await fault.connect('payment-api');
  const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const { executionId } = await crashedWhileTerminating(pid);
  await expire(executionId);
  // Two copies read the same overdue claim; one takes it over (and goes on to run the step).
  const stale = (await overdueExecutions(db)).find((r) => r.executionId === executionId)!;
  expect(await takeOverExecution(db, stale, 60_000)).toMatchObject({ executionId, status: 'running' });
  // The other copy's takeover from the same read loses.
  expect(await takeOverExecution(db, stale, 60_000)).toBeUndefined();
  // The other, from its stale read (its inspection may even see the new run's effect), settles nothing.
  const late = {
    executionId,
    stepId: 'step-1',
    mode: 'run' as const,
    status: 'succeeded' as const,
    summary: 'from a stale read',
    durationMs: 0,
  };
  expect(await finishExecution(db, late, stale)).toBeUndefined();
  const { rows } = await db.query<{ status: string }>('SELECT status FROM executions WHERE execution_id = $1', [executionId]);
  expect(rows[0]!.status).toBe('running');
  // The copy that took it over finishes it.
  expect((await finishExecution(db, { ...late, summary: 'terminated' }))?.status).toBe('succeeded');
});

/** The executor records a human's decision on a plan as the approver announces it. */
async function decided(incidentId: string, planHash: string, decision: 'approved' | 'denied'): Promise<void> {
  const event = createEvent(
    'approval.decided',
    { planHash, decision, decidedBy: [{ id: 'U1' }], via: 'web', decidedAt: new Date().toISOString() },
    { source: 'approver', incidentId },
  );
  await approvalHandlers(db)['approval.decided'](event, { deliveryCount: 1, consumer: 'executor', log });
}

it('a takeover checks the approval again: a plan denied since the claim is not run, and the step is settled as refused', async () => {
  const blocker = await fault.connect('payment-api');
  const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const { incidentId, executionId } = await crashedWhileTerminating(pid, true);
  // Approved when the command came in (so it was claimed), denied after its executor was killed.
  await decided(incidentId, 'a'.repeat(64), 'approved');
  await decided(incidentId, 'a'.repeat(64), 'denied');
  await expire(executionId);
  expect(await sweep()).toBe(1);
  const done = await completions(incidentId);
  expect(done).toHaveLength(1);
  expect(done[0]!.data).toMatchObject({
    executionId,
    status: 'refused',
    summary: expect.stringMatching(/executor stopped before this step took effect, and it is not run now: this plan was denied/),
  });
  expect(await alive(pid)).toBe(true);
  expect(await sweep()).toBe(0);
});

it('a takeover of an approved plan runs the step: the approval still holds', async () => {
  const blocker = await fault.connect('payment-api');
  const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const { incidentId, executionId } = await crashedWhileTerminating(pid, true);
  await decided(incidentId, 'a'.repeat(64), 'approved');
  await expire(executionId);
  expect(await sweep()).toBe(1);
  const done = await completions(incidentId);
  expect(done[0]!.data).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/^terminated pid \d+/) });
  expect(await alive(pid)).toBe(false);
});
