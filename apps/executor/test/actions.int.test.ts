import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type ServiceCatalog } from '@vigil/catalog';
import { ExecutionRequested, type PlanStep } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { createSafetyCheck } from '@vigil/policy';
import { eventually, makeLockPileUp, sleep, startOwnedRedis, uniqueName, type FaultDatabase, type OwnedRedis } from '@vigil/testing';
import { builtInActions } from '../src/actions/index.js';
import { executeStep, type ExecuteDeps } from '../src/execute.js';
import { operatorTarget } from './operator-role.js';

/**
 * Each typed action against the real Postgres and Redis here, on a fault made in the test,
 * through the same path a command takes: safety check, parameters, preconditions, dry run, run.
 */
const log = createLogger({ service: 'executor-test', level: 'silent' });
let fault: FaultDatabase;
let redis: OwnedRedis;
let operatorDsn: string;
let hits: string[] = [];
let endpointUrl: string;
let closeEndpoint: () => Promise<void>;
let scratch: string;
let catalog: ServiceCatalog;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const target = await operatorTarget(cleanups);
  fault = target.fault;
  const operator = target.operator;
  operatorDsn = operator.dsn;
  redis = await startOwnedRedis();
  cleanups.push(() => redis.stop());
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(req.url === '/admin/broken' ? 500 : 200).end('flushed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  closeEndpoint = () => new Promise((resolve) => server.close(() => resolve()));
  cleanups.push(() => closeEndpoint());
  scratch = await mkdtemp(join(tmpdir(), 'vigil-exec-'));
  catalog = parseCatalog(
    `services:
  payment-api:
    executor:
      postgres: ${operatorDsn}
      redis: ${redis.url}
      endpoints:
        flush-cache: { url: ${endpointUrl}/admin/flush-cache }
        broken: { url: ${endpointUrl}/admin/broken }
      restart: [touch, ${join(scratch, 'restarted')}]
  bare-api: {}
`,
    {},
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const deps = (): ExecuteDeps => ({
  actions: builtInActions(),
  safety: createSafetyCheck(),
  catalog,
  scriptLimits: { timeoutMs: 5_000, memoryBytes: 64 << 20, cpuSeconds: 5, outputBytes: 4096 },
  log,
});

const action = (name: string, params: Record<string, unknown>): PlanStep => ({
  kind: 'action',
  id: 'step-1',
  action: name,
  params,
  reasoning: '',
});

const execute = (
  step: PlanStep,
  options: { mode?: 'run' | 'dry_run' | 'compensate'; facts?: Record<string, unknown>; service?: string } = {},
) =>
  executeStep(
    ExecutionRequested.parse({
      executionId: uniqueName('exec'),
      service: options.service ?? 'payment-api',
      planHash: 'a'.repeat(64),
      stepIndex: 0,
      step,
      mode: options.mode ?? 'run',
      evidenceFacts: options.facts ?? {},
    }),
    'inc-1',
    deps(),
  );

describe('postgres actions', () => {
  it('terminate_backend: refuses any pid but the named blocker, dry-runs, then ends the blocker and frees the waiters', async () => {
    const pileUp = await makeLockPileUp(fault, 2);
    cleanups.push(() => pileUp.release().catch(() => undefined));
    const step = action('postgres.terminate_backend', { pid: pileUp.blockerPid });
    expect(await execute(step, { facts: {} })).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/evidence names no blocker_pid/),
    });
    expect(await execute(step, { facts: { blocker_pid: 1 } })).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/is not the blocker the evidence named \(pid 1\)/),
    });
    const facts = { blocker_pid: pileUp.blockerPid };
    const dry = await execute(step, { mode: 'dry_run', facts });
    expect(dry).toMatchObject({ status: 'succeeded' });
    expect(dry.summary).toMatch(new RegExp(`would run SELECT pg_terminate_backend\\(${pileUp.blockerPid}\\).*idle in transaction`));
    const ran = await execute(step, { facts });
    expect(ran).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/^terminated pid \d+/) });
    // The waiters were released: their updates went through.
    await pileUp.release().catch(() => undefined);
    const check = await fault.connect('check');
    const { rows } = await check.query<{ status: string }>('SELECT status FROM orders WHERE id = 7');
    expect(rows[0]?.status).toBe('paid');
    // Ran once; a second attempt finds nothing to signal.
    expect(await execute(step, { facts })).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/not a session of this database/),
    });
  });

  it('terminate_backend refuses a superuser session, even when the evidence names it', async () => {
    const admin = new pg.Client({ connectionString: fault.dsn });
    await admin.connect();
    cleanups.push(() => admin.end());
    const { rows } = await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]!.pid;
    const outcome = await execute(action('postgres.terminate_backend', { pid }), { facts: { blocker_pid: pid } });
    expect(outcome).toMatchObject({ status: 'refused', summary: expect.stringMatching(/belongs to a superuser/) });
    expect((await admin.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  });

  it('cancel_backend cancels the running query and leaves the session', async () => {
    const busy = await fault.connect('reports');
    const { rows } = await busy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]!.pid;
    const sleeping = busy.query('SELECT pg_sleep(30)').then(
      () => 'finished',
      (error: Error) => error.message,
    );
    // Cancelled only once it runs: a cancel that reached the session before its query would cancel nothing.
    const observer = await fault.connect('test-observer');
    await eventually(
      async () =>
        (
          await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep%'", [
            pid,
          ])
        ).rows.length === 1,
      { message: 'the query to cancel never started' },
    );
    const outcome = await execute(action('postgres.cancel_backend', { pid }), { facts: { blocker_pid: pid } });
    expect(outcome.status).toBe('succeeded');
    expect(await sleeping).toMatch(/canceling statement due to user request/);
    expect((await busy.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  });

  it('terminate_idle_in_transaction ends only sessions idle past the threshold, re-checked at run time', async () => {
    const idle = await fault.connect('worker');
    await idle.query('BEGIN');
    await idle.query('SELECT 1');
    const busyTx = await fault.connect('worker');
    await busyTx.query('BEGIN');
    const step = action('postgres.terminate_idle_in_transaction', { older_than_s: 5 });
    expect(await execute(step)).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/no ordinary session is idle in a transaction for longer than 5s/),
    });
    await sleep(5_300);
    await busyTx.query('SELECT 1'); // woke up: no longer idle for long
    const ran = await execute(step);
    expect(ran).toMatchObject({ status: 'succeeded', summary: expect.stringMatching(/terminated 1 session/) });
    await expect(idle.query('SELECT 1')).rejects.toThrow();
    expect((await busyTx.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    expect(await execute(action('postgres.terminate_idle_in_transaction', { older_than_s: 1 }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/older_than_s: at least 5 seconds/),
    });
  });
});

describe('redis actions', () => {
  it('unlink_keys removes the named keys or a narrow pattern, bounded; never everything', async () => {
    const client = new Redis(redis.url);
    cleanups.push(async () => void client.disconnect());
    const prefix = uniqueName('session');
    for (let i = 0; i < 5; i += 1) await client.set(`${prefix}:${i}`, 'x');
    await client.set('keep:me', 'x');
    const dry = await execute(action('redis.unlink_keys', { pattern: `${prefix}:*` }), { mode: 'dry_run' });
    expect(dry.summary).toMatch(/^would UNLINK 5 key\(s\)/);
    expect(await execute(action('redis.unlink_keys', { pattern: `${prefix}:*`, max: 3 }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/more than 3 keys match/),
    });
    expect(await execute(action('redis.unlink_keys', { pattern: '*' }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/never match everything/),
    });
    expect(await execute(action('redis.unlink_keys', { pattern: `${prefix}:*` }))).toMatchObject({
      status: 'succeeded',
      summary: 'unlinked 5 key(s)',
    });
    expect(await client.exists('keep:me')).toBe(1);
    expect(await execute(action('redis.unlink_keys', { keys: ['keep:me', 'missing'] }))).toMatchObject({
      status: 'succeeded',
      summary: 'unlinked 1 key(s)',
    });
  });

  it('config_set changes a whitelisted setting and returns its inverse; other settings are refused', async () => {
    const client = new Redis(redis.url);
    cleanups.push(async () => void client.disconnect());
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    const ran = await execute(action('redis.config_set', { key: 'maxmemory-policy', value: 'allkeys-lru' }));
    expect(ran).toMatchObject({ status: 'succeeded', summary: 'maxmemory-policy: noeviction → allkeys-lru' });
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    expect(ran.compensation).toMatchObject({ action: 'redis.config_set', params: { key: 'maxmemory-policy', value: 'noeviction' } });
    const undone = await execute(ran.compensation!, { mode: 'compensate' });
    expect(undone.status).toBe('succeeded');
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await execute(action('redis.config_set', { key: 'requirepass', value: '' }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/key: requirepass is not one of the settings Vigil may change/),
    });
    expect(await execute(action('redis.config_set', { key: 'maxmemory-policy', value: 'delete-everything' }))).toMatchObject({
      status: 'refused',
    });
  });
});

describe('declared endpoints and commands', () => {
  it('http.request calls only a declared endpoint', async () => {
    hits = [];
    expect(await execute(action('http.request', { endpoint: 'flush-cache' }))).toMatchObject({
      status: 'succeeded',
      summary: expect.stringMatching(/POST .*\/admin\/flush-cache → 200/),
    });
    expect(await execute(action('http.request', { endpoint: 'broken' }))).toMatchObject({ status: 'failed' });
    expect(await execute(action('http.request', { endpoint: 'http://evil.example/' }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/not an endpoint the service catalog declares/),
    });
    expect(hits).toEqual(['POST /admin/flush-cache', 'POST /admin/broken']);
  });

  it('process.restart runs the declared argv, and nothing when none is declared', async () => {
    expect(await execute(action('process.restart', {}))).toMatchObject({ status: 'succeeded' });
    await expect(readFile(join(scratch, 'restarted'), 'utf8')).resolves.toBe('');
    expect(await execute(action('process.restart', {}), { service: 'bare-api' })).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/declares no executor.restart command/),
    });
  });
});

describe('refusals before anything runs', () => {
  it('a step the safety policy denies, an unknown action, bad parameters, a missing target, a script with no sandbox', async () => {
    expect(await execute({ kind: 'script', id: 's', language: 'sql', code: 'DROP TABLE orders', egress: [], reasoning: '' })).toMatchObject(
      {
        status: 'refused',
        summary: expect.stringMatching(/safety policy denies/),
      },
    );
    expect(await execute(action('postgres.drop_everything', {}))).toMatchObject({ status: 'refused' });
    expect(await execute(action('postgres.terminate_backend', { pid: 'all' }))).toMatchObject({
      status: 'refused',
      summary: expect.stringMatching(/invalid parameters.*pid/),
    });
    expect(
      await execute(action('postgres.terminate_backend', { pid: 5 }), { service: 'bare-api', facts: { blocker_pid: 5 } }),
    ).toMatchObject({
      status: 'failed',
      summary: expect.stringMatching(/declares no executor.postgres target/),
    });
    expect(await execute({ kind: 'script', id: 's', language: 'bash', code: 'echo hi', egress: [], reasoning: '' })).toMatchObject({
      status: 'refused',
      summary: 'no sandbox is configured for scripts on this executor',
    });
  });
});
