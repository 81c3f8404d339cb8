import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionRequested, type PlanStep } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { createFaultDatabase, sleep, uniqueName, type FaultDatabase } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { executeStep } from '../src/execute.js';
import { createOperatorRole, operatorCatalog, sessionAlive } from './operator-role.js';

/**
 * The connection-exhaustion fault as `vigil chaos pool-exhaustion` makes it: a database whose
 * CONNECTION LIMIT is taken by idle sessions of its app role, so that the executor's own role
 * cannot connect to it either. Each test has databases of its own, through the executor's
 * ordinary path (safety check, parameters, preconditions, dry run, run).
 */
const log = createLogger({ service: 'executor-test', level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
const pool = 'vigil-chaos pool-exhaustion';

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A fault database with this CONNECTION LIMIT and the executor's operator role on it. */
async function faultWithOperator(connectionLimit: number): Promise<{ fault: FaultDatabase; operatorDsn: string }> {
  await loadParsers();
  const fault = await createFaultDatabase(connectionLimit);
  cleanups.push(() => fault.drop());
  const operator = await createOperatorRole(fault);
  cleanups.push(() => operator.drop());
  return { fault, operatorDsn: operator.dsn };
}

/** A session as a superuser on the fault database (superusers are not held to its limit). */
async function adminSession(fault: FaultDatabase): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: fault.dsn, application_name: 'dba' });
  admin.on('error', () => undefined);
  await admin.connect();
  cleanups.push(() => admin.end());
  return admin;
}

const pidOf = async (client: pg.Client): Promise<number> =>
  (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

async function idleSessions(fault: FaultDatabase, count: number): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < count; i += 1) pids.push(await pidOf(await fault.connect(pool)));
  return pids;
}

const step = (action: string, params: Record<string, unknown>): PlanStep => ({
  kind: 'action',
  id: 'step-1',
  action,
  params,
  reasoning: '',
});

const execute = (operatorDsn: string, planStep: PlanStep, options: { mode?: 'run' | 'dry_run'; facts?: Record<string, unknown> } = {}) =>
  executeStep(
    ExecutionRequested.parse({
      executionId: uniqueName('exec'),
      service: 'payment-api',
      planHash: 'a'.repeat(64),
      stepIndex: 0,
      step: planStep,
      mode: options.mode ?? 'run',
      evidenceFacts: options.facts ?? {},
    }),
    'inc-1',
    {
      actions: builtInActions(),
      safety: createSafetyCheck(),
      catalog: operatorCatalog(operatorDsn),
      scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
      log,
    },
  );

/** The operator role is refused by the full database itself: the fallback is what is under test. */
async function expectRefusedDirectly(operatorDsn: string): Promise<void> {
  const direct = new pg.Client({ connectionString: operatorDsn });
  direct.on('error', () => undefined);
  await expect(direct.connect()).rejects.toMatchObject({ code: '53300' });
  await direct.end().catch(() => undefined);
}

const alive = async (fault: FaultDatabase, pids: number[]): Promise<boolean[]> => Promise.all(pids.map((pid) => sessionAlive(fault, pid)));

describe('postgres.terminate_idle_sessions', () => {
  it('with the database full, goes through the maintenance database and ends only its idle app sessions', async () => {
    const { fault, operatorDsn } = await faultWithOperator(4);
    const elsewhere = await createFaultDatabase();
    cleanups.push(() => elsewhere.drop());
    const otherDatabasePid = await pidOf(await elsewhere.connect(pool));
    const superuserPid = await pidOf(await adminSession(fault));
    const appPids = await idleSessions(fault, 3);
    await expectRefusedDirectly(operatorDsn);
    await sleep(1_100);

    const terminate = step('postgres.terminate_idle_sessions', { older_than_s: 1 });
    const dry = await execute(operatorDsn, terminate, { mode: 'dry_run' });
    expect(dry).toMatchObject({ status: 'succeeded' });
    expect(dry.summary).toMatch(
      new RegExp(
        `^would terminate 3 session\\(s\\) of ${fault.name} .*\\(database ${fault.name} 4/4\\).*via the maintenance database postgres`,
      ),
    );
    expect(await alive(fault, appPids)).toEqual([true, true, true]);

    const ran = await execute(operatorDsn, terminate);
    expect(ran).toMatchObject({
      status: 'succeeded',
      summary: expect.stringMatching(
        new RegExp(
          `^terminated 3 session\\(s\\) of ${fault.name} idle for over 1s: pids [\\d, ]+ \\(via the maintenance database postgres: `,
        ),
      ),
    });
    const ended = /pids ([\d, ]+) \(/.exec(ran.summary)![1]!.split(', ').map(Number);
    expect(ended.sort()).toEqual([...appPids].sort());
    expect(await alive(fault, appPids)).toEqual([false, false, false]);
    expect(await sessionAlive(fault, superuserPid)).toBe(true);
    expect(await sessionAlive(elsewhere, otherDatabasePid)).toBe(true);
  });

  it('refuses while connections are not exhausted, naming the counts', async () => {
    const { fault, operatorDsn } = await faultWithOperator(14);
    const appPids = await idleSessions(fault, 3);
    await sleep(1_100);
    const outcome = await execute(operatorDsn, step('postgres.terminate_idle_sessions', { older_than_s: 1 }));
    expect(outcome).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(
        new RegExp(
          `connections are not exhausted now \\(database ${fault.name} 3/14, server \\d+/\\d+\\): ending idle sessions would not free anything needed`,
        ),
      ),
    });
    expect(await alive(fault, appPids)).toEqual([true, true, true]);
  });

  it('refuses when more sessions match than max_sessions: a human should look', async () => {
    const { fault, operatorDsn } = await faultWithOperator(3);
    const appPids = await idleSessions(fault, 3);
    await sleep(1_100);
    const outcome = await execute(operatorDsn, step('postgres.terminate_idle_sessions', { older_than_s: 1, max_sessions: 2 }));
    expect(outcome).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/3 sessions match, more than max_sessions \(2\): a human should look/),
    });
    expect(await alive(fault, appPids)).toEqual([true, true, true]);
  });

  it('refuses when no session has been idle past the threshold', async () => {
    const { fault, operatorDsn } = await faultWithOperator(3);
    const appPids = await idleSessions(fault, 3);
    const outcome = await execute(operatorDsn, step('postgres.terminate_idle_sessions', { older_than_s: 600 }));
    expect(outcome).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/no ordinary session of \S+ that may be ended has been idle for longer than 600s/),
    });
    expect(await alive(fault, appPids)).toEqual([true, true, true]);
  });

  it('more sessions matching when it runs than max_sessions (after a slow approval): none is ended', async () => {
    const { fault, operatorDsn } = await faultWithOperator(3);
    const appPids = await idleSessions(fault, 3);
    await sleep(1_100);
    // The run itself, as after preconditions that passed with fewer sessions.
    const action = builtInActions().get('postgres.terminate_idle_sessions')!;
    const result = await action.run(
      { older_than_s: 1, max_sessions: 2 },
      {
        service: 'payment-api',
        targets: { endpoints: {}, postgres: operatorDsn },
        evidenceFacts: {},
        claimedAt: new Date(),
        signal: new AbortController().signal,
        log,
      },
    );
    expect(result).toMatchObject({
      status: 'failed',
      summary: expect.stringMatching(/3 sessions match now, more than max_sessions \(2\): none was ended/),
    });
    expect(await alive(fault, appPids)).toEqual([true, true, true]);
  });

  it('a role whose CONNECTION LIMIT is 0 is being drained on purpose: not exhausted, nothing ended', async () => {
    const { fault, operatorDsn } = await faultWithOperator(-1);
    const appPids = await idleSessions(fault, 2);
    const admin = await adminSession(fault);
    await admin.query(`ALTER ROLE ${fault.role} CONNECTION LIMIT 0`);
    await sleep(1_100);
    const outcome = await execute(operatorDsn, step('postgres.terminate_idle_sessions', { older_than_s: 1 }));
    expect(outcome).toMatchObject({ status: 'refused', summary: expect.stringMatching(/connections are not exhausted now/) });
    expect(await alive(fault, appPids)).toEqual([true, true]);
  });

  it("with only a role's limit exhausted, ends only that role's idle sessions", async () => {
    const { fault, operatorDsn } = await faultWithOperator(-1);
    const admin = await adminSession(fault);
    await admin.query(`ALTER ROLE ${fault.role} CONNECTION LIMIT 3`);
    const otherRole = `${fault.name}_other`;
    await admin.query(`CREATE ROLE ${otherRole} LOGIN`);
    const asOther = new URL(fault.dsn);
    asOther.username = otherRole;
    const other = new pg.Client({ connectionString: asOther.toString(), application_name: 'reports' });
    other.on('error', () => undefined);
    await other.connect();
    cleanups.push(async () => {
      await other.end().catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${otherRole}`);
    });
    const otherPid = await pidOf(other);
    const appPids = await idleSessions(fault, 3);
    await sleep(1_100);

    const ran = await execute(operatorDsn, step('postgres.terminate_idle_sessions', { older_than_s: 1 }));
    expect(ran).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/^terminated 3 session\(s\)/) });
    expect(ran.summary).not.toMatch(/maintenance database/);
    expect(await alive(fault, appPids)).toEqual([false, false, false]);
    expect(await sessionAlive(fault, otherPid)).toBe(true);
  });
});

describe('postgres.terminate_backend with the database full', () => {
  it('goes through the maintenance database and ends just the named blocker', async () => {
    const { fault, operatorDsn } = await faultWithOperator(3);
    const [blockerPid, ...others] = await idleSessions(fault, 3);
    await expectRefusedDirectly(operatorDsn);
    const ran = await execute(operatorDsn, step('postgres.terminate_backend', { pid: blockerPid }), { facts: { blocker_pid: blockerPid } });
    expect(ran).toMatchObject({
      status: 'succeeded',
      summary: expect.stringMatching(new RegExp(`^terminated pid ${blockerPid} .*\\(via the maintenance database postgres: `)),
    });
    expect(await sessionAlive(fault, blockerPid!)).toBe(false);
    expect(await alive(fault, others)).toEqual([true, true]);
  });
});
