import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import type { ServiceCatalog } from '@vigil/catalog';
import { createPgliteDb, createPostgresDb, loadMigrations, migrate, type Db } from '@vigil/db';
import type { ExecutionRequested, VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck } from '@vigil/policy';
import { collect, databaseUrl, natsUrl, uniqueName, type FaultDatabase } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { createExecutor } from '../src/executor.js';
import { migrationsDir } from '../src/service.js';
import { claimExecution, takeOverExecution } from '../src/store.js';
import { operatorCatalog, operatorTarget, sessionAlive } from './operator-role.js';

/**
 * Claims go by the database's clock only. A copy whose own clock runs a day ahead (a host whose
 * NTP failed) neither settles nor takes over another copy's live claim; a claim whose deadline
 * has passed by the database's clock is still settled, or taken over and run once, as before.
 * The executor's store is PostgreSQL or PGlite; the target is a real Postgres either way.
 */
const log = createLogger({ service: 'executor-test', level: 'silent' });
const DAY_MS = 24 * 60 * 60_000;
let fault: FaultDatabase;
let catalog: ServiceCatalog;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const target = await operatorTarget(cleanups);
  fault = target.fault;
  const role = target.operator;
  catalog = operatorCatalog(role.dsn);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const alive = (pid: number): Promise<boolean> => sessionAlive(fault, pid);

const stores: Array<[string, (schema: string) => Promise<Db>]> = [
  ['PostgreSQL', async (schema) => createPostgresDb({ url: await databaseUrl(), schema })],
  ['PGlite', (schema) => createPgliteDb({ schema })],
];

describe.each(stores)('with the store on %s', (_kind, open) => {
  const prefix = uniqueName('dbclock');
  const schema = uniqueName('executor');
  let bus: Bus;
  let db: Db;
  let sweepAhead: () => Promise<number>;

  beforeAll(async () => {
    bus = await createNatsBus({ url: await natsUrl(), name: 'db-clock-test', prefix });
    cleanups.push(async () => deleteNatsStreams({ url: await natsUrl(), prefix }));
    cleanups.push(() => bus.close());
    db = await open(schema);
    cleanups.push(async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    });
    await migrate(db, await loadMigrations(migrationsDir));
    // No sweeper loop: only the test's own sweeps run.
    const ahead = createExecutor({
      bus,
      db,
      log,
      actions: builtInActions(),
      safety: createSafetyCheck(),
      catalog,
      scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
      unknownAfterMs: 1_000,
      // This copy's host clock is a day ahead of the database's.
      clock: () => new Date(Date.now() + DAY_MS),
    });
    sweepAhead = ahead.sweep;
  });

  /** Another copy's claim on ending a session, as that copy left it while acting (or dying). */
  async function claimed(pid: number | undefined) {
    const incidentId = uniqueName('inc');
    const executionId = `${incidentId}:0:run`;
    const request: ExecutionRequested = {
      executionId,
      service: 'payment-api',
      planHash: 'a'.repeat(64),
      stepIndex: 0,
      step: { kind: 'action', id: 'step-1', action: 'postgres.terminate_backend', params: { pid: pid ?? 1 }, reasoning: '' },
      mode: 'run',
      approvalRequired: false,
      evidenceFacts: { blocker_pid: pid ?? 1 },
    };
    const claim = await claimExecution(db, {
      executionId,
      incidentId,
      stepId: 'step-1',
      mode: 'run',
      timeoutMs: 10 * 60_000,
      requestEventId: '0190f0e0-0000-7000-8000-000000000004',
      correlationId: incidentId,
      ...(pid === undefined ? {} : { request }),
    });
    if (!claim.claimed) throw new Error('a fresh execution id was already claimed');
    return { incidentId, executionId, record: claim.record };
  }

  const stored = async (executionId: string) =>
    (
      await db.query<{ status: string; deadline_at: Date; stamped_by_db: boolean }>(
        'SELECT status, deadline_at, started_at <= now() AS stamped_by_db FROM executions WHERE execution_id = $1',
        [executionId],
      )
    ).rows[0]!;

  const expire = (executionId: string) =>
    db.query("UPDATE executions SET deadline_at = now() - interval '1 hour' WHERE execution_id = $1", [executionId]);

  const completions = async (incidentId: string) =>
    (await collect(bus.read({ types: ['execution.completed'], incidentId }))).map((s) => s.event as VigilEvent<'execution.completed'>);

  it('a copy whose clock runs a day ahead neither settles nor takes over a live claim', async () => {
    const blocker = await fault.connect('payment-api');
    const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const { incidentId, executionId, record } = await claimed(pid);
    // The claim holds for the time it was given, from the database's now.
    expect(record.deadlineAt.getTime() - record.startedAt.getTime()).toBe(10 * 60_000);

    // By its own clock the claim expired long ago; by the database's it has ten minutes left.
    expect(await sweepAhead()).toBe(0);
    expect(await takeOverExecution(db, record, 60_000)).toBeUndefined();
    const row = await stored(executionId);
    expect(row.status).toBe('running');
    expect(new Date(row.deadline_at).getTime()).toBe(record.deadlineAt.getTime());
    expect(await completions(incidentId)).toEqual([]);
    expect(await alive(pid)).toBe(true);
  });

  it('a claim overdue by the database clock is still taken over by that copy, run once, and stamped by the database', async () => {
    const blocker = await fault.connect('payment-api');
    const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const { incidentId, executionId } = await claimed(pid);
    await expire(executionId);

    expect(await sweepAhead()).toBe(1);
    const done = await completions(incidentId);
    expect(done).toHaveLength(1);
    expect(done[0]!.data).toMatchObject({ executionId, status: 'succeeded', summary: expect.stringMatching(/^terminated pid \d+/) });
    expect(await alive(pid)).toBe(false);
    // The takeover's new start is the database's now, not the copy's (a day ahead).
    expect(await stored(executionId)).toMatchObject({ status: 'succeeded', stamped_by_db: true });
    expect(await sweepAhead()).toBe(0);
  });

  it('a claim overdue by the database clock with nothing to read on the target is settled unknown', async () => {
    const { incidentId, executionId } = await claimed(undefined);
    expect(await sweepAhead()).toBe(0);
    await expire(executionId);
    expect(await sweepAhead()).toBe(1);
    const [unknown] = await completions(incidentId);
    expect(unknown!.data).toMatchObject({ executionId, status: 'unknown', summary: expect.stringMatching(/not retried/) });
    expect(await stored(executionId)).toMatchObject({ status: 'unknown' });
  });
});
