import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFaultDatabase, startOwnedRedis, type FaultDatabase } from '@vigil/testing';
import { startChaos, type ChaosRun } from '@vigil/testing';
import { vigil } from '../../test/run-vigil.js';

const scenarioNames = ['pg-lock', 'pool-exhaustion', 'idle-in-transaction', 'superuser-lock', 'ambiguous'];

describe('vigil chaos: bad input', () => {
  it('names every scenario when the one given is unknown (exit 2)', async () => {
    const result = await vigil(['chaos', 'meltdown']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown scenario "meltdown"');
    for (const name of [...scenarioNames, 'stop']) expect(result.stderr).toContain(`  ${name} `);
  });

  it('needs a PostgreSQL URL, and says a PGlite payment-api cannot be faulted', async () => {
    const result = await vigil(['chaos', 'pg-lock']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--database-url or set PAYMENT_DATABASE_URL.*PGlite/);
  });

  it.each([
    [['pg-lock', '--hold', '0'], '--hold must be a whole number from 1 to 86400 (got "0")'],
    [['pg-lock', '--hold', 'soon'], '--hold must be a whole number'],
    [['pg-lock', '--waiters', '-1'], '--waiters must be a whole number from 0 to 50'],
    [['idle-in-transaction', '--sessions', '0'], '--sessions must be a whole number from 1 to 50'],
    [['pool-exhaustion', '--connections', '1.5'], '--connections must be a whole number'],
    [['ambiguous'], 'ambiguous also fills a Redis: pass --redis-url'],
  ])('rejects %j (exit 2)', async (args, message) => {
    const result = await vigil(['chaos', ...args], { PAYMENT_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('rejects a URL of the wrong kind without echoing it', async () => {
    const result = await vigil(['chaos', 'pg-lock', '--database-url', 'mysql://root:hunter2@db/shop']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--database-url (or PAYMENT_DATABASE_URL) must be a postgres or postgresql URL, not mysql:');
    expect(result.stderr).not.toContain('hunter2');
  });
});

describe('vigil chaos on a real database', () => {
  let db: FaultDatabase;
  let admin: pg.Client;
  let roleUrl: string;
  let env: Record<string, string>;
  let chaosDir: string;
  const runs: ChaosRun[] = [];
  const chaos = (args: string[], extra: Record<string, string> = {}): ChaosRun => {
    const run = startChaos(args, { ...env, ...extra });
    runs.push(run);
    return run;
  };
  const sessionsOf = async (pids: number[]) =>
    (
      await admin.query<{ pid: number; usename: string; application_name: string; state: string }>(
        'SELECT pid, usename, application_name, state FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid',
        [pids],
      )
    ).rows;
  const chaosSessions = async () =>
    (
      await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'vigil-chaos %'", [
        db.name,
      ])
    ).rows;

  beforeAll(async () => {
    db = await createFaultDatabase();
    admin = new pg.Client({ connectionString: db.dsn });
    await admin.connect();
    const url = new URL(db.dsn);
    url.username = db.role;
    roleUrl = url.toString();
    // payment-api's schema, as the app role creates it.
    const app = await db.connect('setup');
    await app.query(
      `CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open', updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    await app.query('INSERT INTO orders (id) VALUES (1), (2), (3)');
    await app.end();
    chaosDir = await mkdtemp(join(tmpdir(), 'vigil-chaos-cli-'));
    env = { PAYMENT_DATABASE_URL: roleUrl, VIGIL_CHAOS_DIR: chaosDir };
  });
  afterEach(async () => void (await Promise.all(runs.splice(0).map((r) => r.stop()))));
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
    await rm(chaosDir, { recursive: true, force: true });
  });

  it('pg-lock refuses a superuser: the executor would not touch its session', async () => {
    const result = await vigil(['chaos', 'pg-lock', '--database-url', db.dsn], { VIGIL_CHAOS_DIR: chaosDir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CHAOS_SUPERUSER: role \w+ is a superuser; pg-lock must run as the app's ordinary role/);
    expect(await chaosSessions()).toEqual([]);
  });

  it('says which table is missing when payment-api never ran against the database', async () => {
    const bare = await createFaultDatabase();
    try {
      const url = new URL(bare.dsn);
      url.username = bare.role;
      const result = await vigil(['chaos', 'idle-in-transaction', '--database-url', url.toString()]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`CHAOS_NO_ORDERS: database ${bare.name} has no orders table`);
    } finally {
      await bare.drop();
    }
  });

  it('pool-exhaustion refuses a role and database without CONNECTION LIMIT (it would take the whole server)', async () => {
    const result = await vigil(['chaos', 'pool-exhaustion'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`CHAOS_NO_CONNECTION_LIMIT: neither role ${db.role} nor database ${db.name} has a CONNECTION LIMIT`);
  });

  it('pg-lock releases the row when --hold runs out', async () => {
    const run = chaos(['pg-lock', '--hold', '1', '--waiters', '0']);
    const fault = await run.line('fault');
    expect(fault).toMatchObject({ role: db.role, superuser: false, waiter_pids: [] });
    expect(await run.line('released')).toMatchObject({ reason: 'held for 1s' });
    expect((await run.exited).code).toBe(0);
    expect(await sessionsOf([fault['blocker_pid'] as number])).toEqual([]);
    await admin.query("SET lock_timeout = '2s'");
    expect((await admin.query('UPDATE orders SET status = status WHERE id = 1')).rowCount).toBe(1);
  });

  it('idle-in-transaction: ordinary sessions idle in a transaction, no lock on the hot row; gone when ended', async () => {
    const run = chaos(['idle-in-transaction', '--sessions', '3', '--hold', '300']);
    const fault = await run.line('fault');
    const pids = fault['pids'] as number[];
    expect(pids).toHaveLength(3);
    const sessions = await sessionsOf(pids);
    expect(sessions.map((s) => [s.usename, s.application_name, s.state])).toEqual(
      pids.map(() => [db.role, 'vigil-chaos idle-in-transaction', 'idle in transaction']),
    );
    await admin.query("SET lock_timeout = '2s'");
    expect((await admin.query('UPDATE orders SET status = status WHERE id = 1')).rowCount).toBe(1);
    // What the executor's postgres.terminate_idle_in_transaction does, as the app role may.
    const app = await db.connect('executor');
    const { rows } = await app.query<{ pid: number }>('SELECT pid FROM unnest($1::int[]) AS pid WHERE pg_terminate_backend(pid)', [pids]);
    expect(rows).toHaveLength(3);
    expect(await run.line('fault-ended')).toMatchObject({ reason: 'all 3 idle-in-transaction sessions ended' });
    expect((await run.exited).code).toBe(0);
  });

  it('superuser-lock: the blocker is a superuser session the app role cannot end; stop says so, Ctrl-C releases it', async () => {
    const run = chaos(['superuser-lock', '--database-url', db.dsn, '--waiters', '1', '--hold', '300']);
    const fault = await run.line('fault');
    expect(fault).toMatchObject({ scenario: 'superuser-lock', superuser: true, order_id: 1 });
    const blockerPid = fault['blocker_pid'] as number;
    const [blocker] = await sessionsOf([blockerPid]);
    expect(blocker).toMatchObject({ application_name: 'vigil-chaos superuser-lock', state: 'idle in transaction' });
    const { rows } = await admin.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [blocker?.usename]);
    expect(rows[0]?.rolsuper).toBe(true);

    const app = await db.connect('executor');
    await expect(app.query('SELECT pg_terminate_backend($1)', [blockerPid])).rejects.toThrow(/superuser|permission denied/i);
    // As from another machine (no local process to signal): only the database is left to try.
    const stop = await vigil(['chaos', 'superuser-lock', '--stop', '--database-url', roleUrl], {
      VIGIL_CHAOS_DIR: join(chaosDir, 'elsewhere'),
    });
    expect(stop.code).toBe(0);
    const stopped = JSON.parse(stop.stdout.trim().split('\n').at(-1)!) as { refused: Array<{ pid: number }> };
    expect(stopped.refused.map((r) => r.pid)).toContain(blockerPid);
    expect(await sessionsOf([blockerPid])).toHaveLength(1);

    await run.stop();
    expect((await run.exited).code).toBe(0);
    expect(run.lines.at(-1)).toMatchObject({ event: 'released', reason: 'SIGTERM' });
    expect(await sessionsOf([blockerPid])).toEqual([]);
  });

  it('stop ends sessions a killed run left behind', async () => {
    const leftover = await db.connect('vigil-chaos pg-lock');
    const { rows } = await leftover.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const stop = await vigil(['chaos', 'stop'], env);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout.trim())).toMatchObject({ event: 'stopped', database: db.name, terminated: [rows[0]?.pid], refused: [] });
  });

  describe('ambiguous', () => {
    it('refuses a Redis without maxmemory before it makes any fault', async () => {
      const unbounded = await startOwnedRedis();
      try {
        const result = await vigil(['chaos', 'ambiguous', '--redis-url', unbounded.url], env);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('CHAOS_REDIS_UNBOUNDED');
        expect(result.stderr).toContain('has no maxmemory');
        expect(await chaosSessions()).toEqual([]);
      } finally {
        await unbounded.stop();
      }
    });

    it('holds the row lock and fills Redis to its limit, and undoes both on release', async () => {
      const small = await startOwnedRedis(['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction']);
      const redis = new Redis(small.url);
      try {
        const run = chaos(['ambiguous', '--redis-url', small.url, '--waiters', '1', '--hold', '300']);
        const fault = await run.line('fault');
        expect(fault).toMatchObject({
          scenario: 'ambiguous',
          role: db.role,
          redis: { oom: true, policy: 'noeviction', prefix: 'vigil-chaos:' },
        });
        // What the investigator's Redis probe reads: memory at the limit, writes refused with OOM.
        const info = await redis.info();
        const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
        const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
        expect(used / max).toBeGreaterThan(0.9);
        expect(info).toMatch(/^errorstat_OOM:count=[1-9]/m);
        await expect(redis.set('cart:42', 'x'.repeat(64 * 1024))).rejects.toThrow(/OOM/);
        expect(await sessionsOf([fault['blocker_pid'] as number])).toHaveLength(1);

        // Ending the blocker heals only half of it: the run goes on while Redis is full.
        await admin.query('SELECT pg_terminate_backend($1)', [fault['blocker_pid']]);
        await run.line('session-ended');
        expect(run.lines.some((l) => l.event === 'fault-ended' || l.event === 'released')).toBe(false);

        await run.stop();
        expect((await run.exited).code).toBe(0);
        expect(run.lines.at(-1)).toMatchObject({ event: 'released', reason: 'SIGTERM' });
        expect(await redis.dbsize()).toBe(0);
        expect(await redis.set('cart:42', 'ok')).toBe('OK');
      } finally {
        redis.disconnect();
        await small.stop();
      }
    });
  });
});
