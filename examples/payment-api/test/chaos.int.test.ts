import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFaultDatabase, eventually, repoRoot, type FaultDatabase } from '@vigil/testing';
import { startChaos, type ChaosRun } from '@vigil/testing';
import { health, pay, roleUrl, startOnPostgres, type RunningApp } from './helpers.js';

const exec = promisify(execFile);

/**
 * The demo's faults, made by the real `vigil chaos` against a running payment-api, and healed
 * the way the executor heals them — here by the test, as the administrator.
 */
describe('vigil chaos against payment-api', () => {
  let db: FaultDatabase;
  let admin: pg.Client;
  let app: RunningApp;
  let env: Record<string, string>;
  let chaosDir: string;
  const runs: ChaosRun[] = [];
  const chaos = (args: string[]): ChaosRun => {
    const started = startChaos(args, env);
    runs.push(started);
    return started;
  };

  beforeAll(async () => {
    db = await createFaultDatabase();
    admin = new pg.Client({ connectionString: db.dsn });
    await admin.connect();
    app = await startOnPostgres(roleUrl(db), { healthLockTimeoutMs: 300, checkoutLockTimeoutMs: 300, idleTimeoutMs: 60_000 });
    chaosDir = await mkdtemp(join(tmpdir(), 'vigil-chaos-test-'));
    env = { PAYMENT_DATABASE_URL: roleUrl(db), VIGIL_CHAOS_DIR: chaosDir };
  });
  // A failed test must not leave its fault running into the next one.
  afterEach(async () => void (await Promise.all(runs.splice(0).map((r) => r.stop()))));
  afterAll(async () => {
    await app?.close();
    await admin?.end();
    await db?.drop();
    await rm(chaosDir, { recursive: true, force: true });
  });

  it('pg-lock: checkouts fail while the lock is held and recover once the blocker is terminated', async () => {
    expect((await health(app.url)).status).toBe(200);
    const run = chaos(['pg-lock', '--hold', '300', '--waiters', '2']);
    const fault = await run.line('fault');
    expect(fault).toMatchObject({ scenario: 'pg-lock', role: db.role, superuser: false, order_id: 1, database: db.name });
    const blockerPid = fault['blocker_pid'] as number;
    const waiterPids = fault['waiter_pids'] as number[];
    expect(waiterPids).toHaveLength(2);

    // What the investigator reads: an ordinary role idle in transaction, the waiters blocked by it.
    const { rows: sessions } = await admin.query<{ pid: number; usename: string; state: string; blocked_by: number[] }>(
      'SELECT pid, usename, state, pg_blocking_pids(pid) AS blocked_by FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid',
      [[blockerPid, ...waiterPids]],
    );
    expect(sessions.find((s) => s.pid === blockerPid)).toMatchObject({ usename: db.role, state: 'idle in transaction', blocked_by: [] });
    // A second waiter queues behind the first one's tuple lock: the chain leads back to the blocker.
    const queue = new Set([blockerPid, ...waiterPids]);
    for (const pid of waiterPids) {
      const blockedBy = sessions.find((s) => s.pid === pid)?.blocked_by ?? [];
      expect(blockedBy.length).toBeGreaterThan(0);
      expect(blockedBy.every((b) => queue.has(b))).toBe(true);
    }
    expect(sessions.some((s) => s.blocked_by.includes(blockerPid))).toBe(true);

    const sick = await health(app.url);
    expect(sick.status).toBe(503);
    expect(sick.body.failure).toBe('lock-timeout');
    const failed = await pay(app.url, { item: 'coffee', quantity: '1' });
    expect(failed.status).toBe(503);
    expect(await failed.text()).toContain('Payment failed');

    const { rows } = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [blockerPid]);
    expect(rows[0]?.done).toBe(true);
    await eventually(async () => (await health(app.url)).status === 200, { message: '/health did not recover' });
    expect(await (await pay(app.url, { item: 'coffee', quantity: '1' })).text()).toContain('Payment confirmed');
    expect(await run.line('fault-ended')).toMatchObject({ reason: expect.stringContaining(`pid ${blockerPid}`) });
    expect((await run.exited).code).toBe(0);
  }, 120_000);

  it('pool-exhaustion: the app cannot connect until `vigil chaos stop`', async () => {
    await admin.query(`ALTER ROLE ${db.role} CONNECTION LIMIT 4`);
    try {
      expect((await health(app.url)).status).toBe(200); // the app now holds a pooled connection
      const run = chaos(['pool-exhaustion', '--hold', '300']);
      const fault = await run.line('fault');
      expect(fault).toMatchObject({ limit: 'role CONNECTION LIMIT 4', held: 4, complete: true });
      expect((fault['ended_app_pids'] as number[]).length).toBeGreaterThan(0);

      const exhausted = await eventually(async () => {
        const answer = await health(app.url);
        return answer.body.failure === 'pool-exhausted' ? answer : undefined;
      });
      expect(exhausted.status).toBe(503);
      expect(exhausted.body.error).toMatch(/^pool exhausted: the database refused a new connection \(too many connections for role/);
      expect((await pay(app.url, { item: 'tea', quantity: '1' })).status).toBe(503);

      // The app role has no slot left, so stop reaches the chaos process itself.
      const stop = await exec(process.execPath, [join(repoRoot, 'apps/cli/bin/vigil.js'), 'chaos', 'stop'], {
        env: { PATH: process.env.PATH ?? '', ...env },
      });
      const stopped = stop.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(stopped[0]).toMatchObject({ event: 'stopped', scenario: 'pool-exhaustion' });
      expect(stopped[1]).toMatchObject({ event: 'stopped', database: db.name, terminated: [] });
      expect((await run.exited).code).toBe(0);
      expect(run.lines.at(-1)).toMatchObject({ event: 'released', reason: 'SIGTERM' });
      await eventually(async () => (await health(app.url)).status === 200, { message: '/health did not recover' });
    } finally {
      await admin.query(`ALTER ROLE ${db.role} CONNECTION LIMIT -1`);
    }
  }, 120_000);
});
