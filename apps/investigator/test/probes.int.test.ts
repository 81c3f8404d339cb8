import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parseCatalog } from '@vigil/catalog';
import {
  createFaultDatabase,
  type FaultDatabase,
  freePort,
  makeLockPileUp,
  sleep,
  startHealthServer,
  startOwnedRedis,
  startSilentServer,
} from '@vigil/testing';
import { defaultPostgresThresholds } from '../src/domain/postgres-assessment.js';
import { defaultRedisThresholds } from '../src/domain/redis-assessment.js';
import { runProbes, type ProbeSettings } from '../src/probes/run-probes.js';

// Short thresholds so a real fault is a fault after a moment, not after minutes.
const settings: ProbeSettings = {
  timeoutMs: 2_000,
  slowMs: 500,
  postgres: { ...defaultPostgresThresholds, lockWaitMinS: 0.2, idleInTransactionMinS: 0.3 },
  redis: defaultRedisThresholds,
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function faultDatabase(limit = -1): Promise<FaultDatabase> {
  const db = await createFaultDatabase(limit);
  cleanups.push(() => db.drop());
  return db;
}

const catalogFor = (entry: string) => parseCatalog(`services:\n  payment-api:\n${entry}`, {}).get('payment-api')!;

describe('Postgres probe, real faults', () => {
  it('a transaction holding a row lock while others wait: the blocker, its query and age, and how many wait', async () => {
    const db = await faultDatabase();
    const pileUp = await makeLockPileUp(db, 3);
    cleanups.push(() => pileUp.release());
    await sleep(300);
    const [report] = await runProbes(catalogFor(`    postgres: ${db.dsn}\n`), settings);
    expect(report?.failure).toBeUndefined();
    const lock = report?.findings.find((f) => f.category === 'postgres-lock');
    expect(lock?.facts).toMatchObject({
      blocker_pid: pileUp.blockerPid,
      waiting: 3,
      blocker_state: 'idle in transaction',
      blocker_query: "UPDATE orders SET status = 'held' WHERE id = 7",
      database: db.name,
    });
    expect(lock?.facts['held_for_s']).toBeGreaterThanOrEqual(0);
    expect(lock?.confidence).toBeGreaterThanOrEqual(0.9);
    // The blocker's session start, exactly: with the pid it names one session, not a reused pid.
    const observer = await db.connect('test-observer');
    const { rows } = await observer.query<{ exact: boolean }>(
      'SELECT backend_start = $2::timestamptz AS exact FROM pg_stat_activity WHERE pid = $1',
      [pileUp.blockerPid, lock?.facts['blocker_backend_start']],
    );
    expect(rows).toEqual([{ exact: true }]);
    // The blocker is also idle in a transaction: reported too, and consistent.
    expect(report?.findings.find((f) => f.category === 'postgres-idle')?.facts['idle_pid']).toBe(pileUp.blockerPid);
  });

  it('connections held open to the limit: saturation, with who holds them', async () => {
    const db = await faultDatabase(8);
    for (let i = 0; i < 8; i += 1) await db.connect(i < 5 ? 'batch-worker' : 'payment-api');
    const [report] = await runProbes(catalogFor(`    postgres: ${db.dsn}\n`), settings);
    const saturation = report?.findings.find((f) => f.category === 'postgres-connections');
    expect(saturation?.facts).toMatchObject({
      connections: 8,
      usable_connections: 8,
      limit_scope: 'database',
      top_application: 'batch-worker',
    });
    expect(saturation?.rootCause).toMatch(/8 of them idle/);
  });

  it('a database whose CONNECTION LIMIT is taken refuses the probe too: it reads the server from the maintenance database', async () => {
    const db = await faultDatabase(4);
    const dsn = await db.probeDsn();
    for (let i = 0; i < 4; i += 1) await db.connect('leaky-pool');
    const [report] = await runProbes(catalogFor(`    postgres: ${dsn}\n`), settings);
    expect(report?.failure).toBeUndefined();
    const saturation = report?.findings.find((f) => f.category === 'postgres-connections');
    expect(saturation?.facts).toMatchObject({
      connections: 4,
      usable_connections: 4,
      limit_scope: 'database',
      top_application: 'leaky-pool',
      by_state: { idle: 4 },
    });
    expect(saturation?.facts['refused']).toMatch(/too many connections for database/);
    expect(saturation?.confidence).toBeGreaterThanOrEqual(0.9);
    expect(report?.observations[0]?.summary).toMatch(/read from postgres:\/\/.*\/postgres.*refused the probe/);
  });

  it("a role's CONNECTION LIMIT taken: the probe, another role, connects and names the role", async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    await db.admin(`ALTER ROLE ${db.role} CONNECTION LIMIT 3`);
    for (let i = 0; i < 3; i += 1) await db.connect('leaky-pool');
    const [report] = await runProbes(catalogFor(`    postgres: ${dsn}\n`), settings);
    const saturation = report?.findings.find((f) => f.category === 'postgres-connections');
    expect(saturation?.facts).toMatchObject({ connections: 3, usable_connections: 3, limit_scope: 'role', limit_role: db.role });
    expect(saturation?.facts['refused']).toBeUndefined();
    // A limit of 0 closes the role on purpose (a DBA draining it): not an exhausted limit.
    await db.admin(`ALTER ROLE ${db.role} CONNECTION LIMIT 0`);
    const [drained] = await runProbes(catalogFor(`    postgres: ${dsn}\n`), settings);
    expect(drained?.findings.find((f) => f.category === 'postgres-connections')).toBeUndefined();
  });

  it('a session idle in a transaction', async () => {
    const db = await faultDatabase();
    const idle = await db.connect('reports');
    const { rows } = await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await idle.query('BEGIN');
    await idle.query('SELECT 1');
    await sleep(500);
    const [report] = await runProbes(catalogFor(`    postgres: ${db.dsn}\n`), settings);
    expect(report?.findings.map((f) => f.category)).toEqual(['postgres-idle']);
    expect(report?.findings[0]?.facts).toMatchObject({ idle_pid: rows[0]!.pid, idle_count: 1, idle_query: 'SELECT 1' });
  });

  it('a quiet database: no finding, and an observation of what was checked', async () => {
    const db = await faultDatabase();
    const [report] = await runProbes(catalogFor(`    postgres: ${db.dsn}\n`), settings);
    expect(report?.findings).toEqual([]);
    expect(report?.observations[0]?.summary).toMatch(
      new RegExp(`database ${db.name}: \\d+/\\d+ usable connections in use, 0 session\\(s\\) waiting`),
    );
    expect(report?.checked).toContain('postgres-lock');
  });

  it('the probe cannot write, even if its DSN could', async () => {
    const db = await faultDatabase();
    const { readPostgresStats } = await import('../src/probes/postgres.js');
    await expect(readPostgresStats(db.dsn, 2_000)).resolves.toMatchObject({ database: db.name });
    // The session setting the probe uses makes any write fail.
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: db.dsn, options: '-c default_transaction_read_only=on' });
    await client.connect();
    await expect(client.query('CREATE TABLE t (x int)')).rejects.toThrow(/read-only transaction/);
    await client.end();
  });

  it('an unreachable or silent server is evidence, never a crash, and no password is quoted', async () => {
    const port = await freePort();
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const quick = { ...settings, timeoutMs: 300 };
    // The refusal with the usual deadline: on a loaded machine 300 ms can pass before it is heard.
    const [refused] = await runProbes(catalogFor(`    postgres: postgres://probe:hunter2@127.0.0.1:${port}/x\n`), settings);
    expect(refused?.failure).toMatch(/ECONNREFUSED/);
    expect(refused?.target).toBe(`postgres://probe:***@127.0.0.1:${port}/x`);
    expect(JSON.stringify(refused)).not.toContain('hunter2');
    const [hung] = await runProbes(catalogFor(`    postgres: postgres://probe:hunter2@127.0.0.1:${silent.port}/x\n`), quick);
    expect(hung?.failure).toMatch(/timeout|timed out/i);
    expect(JSON.stringify(hung)).not.toContain('hunter2');
  });
});

describe('Redis probe, real faults', () => {
  it('Redis filled towards a low maxmemory: memory pressure, with refused writes', async () => {
    const redis = await startOwnedRedis(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction']);
    cleanups.push(() => redis.stop());
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    cleanups.push(async () => void client.disconnect());
    const value = 'x'.repeat(10_000);
    let refused = 0;
    for (let i = 0; i < 400 && refused < 3; i += 1) await client.set(`k${i}`, value).catch(() => (refused += 1));
    expect(refused).toBeGreaterThan(0);
    const [report] = await runProbes(catalogFor(`    redis: ${redis.url}\n`), settings);
    const memory = report?.findings.find((f) => f.category === 'redis-memory');
    expect(memory?.facts).toMatchObject({ maxmemory: 2 * 1024 * 1024, maxmemory_policy: 'noeviction', oom_errors: refused });
    expect(memory?.facts['memory_ratio']).toBeGreaterThan(0.9);
    expect(memory?.confidence).toBeGreaterThan(0.8);
  });

  it('a healthy Redis: an observation; an unreachable one: a failure', async () => {
    const redis = await startOwnedRedis();
    cleanups.push(() => redis.stop());
    const [healthy] = await runProbes(catalogFor(`    redis: ${redis.url}\n`), settings);
    expect(healthy?.findings).toEqual([]);
    expect(healthy?.observations[0]?.summary).toMatch(/^redis 7|^redis \d/);
    const [down] = await runProbes(catalogFor(`    redis: redis://:s3cret@127.0.0.1:${await freePort()}\n`), {
      ...settings,
      timeoutMs: 300,
    });
    expect(down?.failure).toBeDefined();
    expect(JSON.stringify(down)).not.toContain('s3cret');
  });
});

describe('HTTP probe and several probes at once', () => {
  it('a failing health endpoint is a symptom; probes run side by side and one failure spoils none', async () => {
    const failing = await startHealthServer(503);
    cleanups.push(() => failing.close());
    const slow = await startHealthServer(200, 3_000);
    cleanups.push(() => slow.close());
    const db = await faultDatabase();
    const reports = await runProbes(
      catalogFor(`    health: ${failing.url}\n    postgres: ${db.dsn}\n    redis: redis://127.0.0.1:${await freePort()}\n`),
      settings,
    );
    expect(reports.map((r) => r.probe)).toEqual(['http', 'postgres', 'redis']);
    expect(reports[0]?.findings[0]).toMatchObject({ category: 'http-symptom', facts: { health_status: 503 } });
    expect(reports[1]?.failure).toBeUndefined();
    expect(reports[2]?.failure).toBeDefined();
    const [timedOut] = await runProbes(catalogFor(`    health: ${slow.url}\n`), { ...settings, timeoutMs: 300 });
    expect(timedOut?.findings[0]?.summary).toMatch(/did not answer \(timed out after 300ms\)/);
  });

  it('only the declared probes run', async () => {
    const failing = await startHealthServer(503);
    cleanups.push(() => failing.close());
    const reports = await runProbes(
      catalogFor(`    health: ${failing.url}\n    redis: redis://127.0.0.1:1\n    probes: [http]\n`),
      settings,
    );
    expect(reports.map((r) => r.probe)).toEqual(['http']);
  });
});
