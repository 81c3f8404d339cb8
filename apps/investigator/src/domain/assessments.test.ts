import { describe, expect, it } from 'vitest';
import { assessHttp } from './http-assessment.js';
import {
  assessBlocking,
  assessIdleInTransaction,
  assessPostgres,
  assessSaturation,
  defaultPostgresThresholds as pgThresholds,
  type PostgresStats,
  type SessionRow,
} from './postgres-assessment.js';
import { assessRedis, defaultRedisThresholds, parseRedisInfo } from './redis-assessment.js';

let nextPid = 100;
const session = (over: Partial<SessionRow> = {}): SessionRow => ({
  pid: nextPid++,
  datname: 'payments',
  usename: 'app',
  applicationName: 'payment-api',
  backendType: 'client backend',
  state: 'idle',
  xactAgeS: null,
  stateAgeS: 1,
  waitEventType: null,
  query: 'SELECT 1',
  blockedBy: [],
  superuser: false,
  ...over,
});
const stats = (sessions: SessionRow[], over: Partial<PostgresStats> = {}): PostgresStats => ({
  database: 'payments',
  maxConnections: 100,
  reservedConnections: 3,
  databaseConnectionLimit: -1,
  roleConnectionLimits: [],
  sessions,
  ...over,
});

describe('Postgres: blocking chains', () => {
  it('finds the root blocker and counts everyone behind it, directly or through another waiter', () => {
    const blocker = session({
      pid: 4242,
      state: 'idle in transaction',
      xactAgeS: 95.4,
      stateAgeS: 94,
      query: 'UPDATE orders SET status = $1 WHERE id = 7',
    });
    const direct = [1, 2, 3].map((i) =>
      session({ pid: 5000 + i, state: 'active', stateAgeS: 30 + i, blockedBy: [4242], waitEventType: 'Lock' }),
    );
    const chained = session({ pid: 6000, state: 'active', stateAgeS: 5, blockedBy: [5001], waitEventType: 'Lock' });
    const finding = assessBlocking(stats([blocker, ...direct, chained, session()]), pgThresholds);
    expect(finding?.category).toBe('postgres-lock');
    expect(finding?.facts).toMatchObject({
      blocker_pid: 4242,
      waiting: 4,
      held_for_s: 95,
      longest_wait_s: 33,
      blocker_state: 'idle in transaction',
      blocker_user: 'app',
      blocker_superuser: false,
      blocker_query: 'UPDATE orders SET status = $1 WHERE id = 7',
    });
    expect(finding?.facts['waiting_pids']).toEqual(expect.arrayContaining([5001, 5002, 5003, 6000]));
    expect(finding?.confidence).toBe(0.95);
    expect(finding?.rootCause).toMatch(/pid 4242 .*idle in transaction for 1m 35s.*4 sessions wait/);
  });

  it('a query quoted as evidence is redacted: literals can carry secrets and personal data', () => {
    const blocker = session({
      pid: 77,
      state: 'idle in transaction',
      query: "UPDATE users SET email = 'ana@example.com', password = 'hunter2' WHERE id = 1",
    });
    const finding = assessBlocking(stats([blocker, session({ blockedBy: [77], stateAgeS: 9 })]), pgThresholds);
    const text = JSON.stringify(finding);
    expect(text).not.toContain('ana@example.com');
    expect(text).not.toContain('hunter2');
    expect(finding?.facts['blocker_query']).toMatch(/UPDATE users SET email = '\[EMAIL_1\]'/);
  });

  it('ranks several roots by how many wait behind each', () => {
    const small = session({ pid: 1, state: 'active', xactAgeS: 10 });
    const big = session({ pid: 2, state: 'active', xactAgeS: 10 });
    const waiters = [
      session({ blockedBy: [1], stateAgeS: 20 }),
      session({ blockedBy: [2], stateAgeS: 3 }),
      session({ blockedBy: [2], stateAgeS: 3 }),
    ];
    const finding = assessBlocking(stats([small, big, ...waiters]), pgThresholds);
    expect(finding?.facts).toMatchObject({ blocker_pid: 2, waiting: 2, other_root_blockers: [1] });
    expect(finding?.confidence).toBe(0.75);
  });

  it('ignores brief lock waits, other databases and an empty server', () => {
    const blocker = session({ pid: 10, state: 'active' });
    expect(assessBlocking(stats([blocker, session({ blockedBy: [10], stateAgeS: 0.5 })]), pgThresholds)).toBeUndefined();
    const elsewhere = [session({ pid: 11, datname: 'other' }), session({ datname: 'other', blockedBy: [11], stateAgeS: 60 })];
    expect(assessBlocking(stats(elsewhere), pgThresholds)).toBeUndefined();
    expect(assessBlocking(stats([]), pgThresholds)).toBeUndefined();
  });

  it('a waiter in a cycle (a deadlock before detection) does not loop forever', () => {
    const a = session({ pid: 21, blockedBy: [22], stateAgeS: 5 });
    const b = session({ pid: 22, blockedBy: [21], stateAgeS: 5 });
    expect(assessBlocking(stats([a, b]), pgThresholds)).toBeUndefined();
  });
});

describe('Postgres: saturation and idle transactions', () => {
  it('counts client backends (not the probe itself, as the executor and verifier do not count theirs) against the usable slots', () => {
    const clients = Array.from({ length: 96 }, (_, i) =>
      session({ state: i < 80 ? 'idle' : 'active', applicationName: i < 70 ? 'worker' : 'payment-api' }),
    );
    const finding = assessSaturation(stats([...clients, session({ backendType: 'autovacuum launcher' })]), pgThresholds);
    expect(finding?.facts).toMatchObject({
      connections: 96,
      usable_connections: 97,
      max_connections: 100,
      top_application: 'worker',
      top_application_connections: 70,
    });
    expect(finding?.rootCause).toMatch(/96 of 97 usable slots.*80 of them idle/);
    // 87 of 97 is under 90%: the probe's own slot would have tipped it over.
    expect(assessSaturation(stats(clients.slice(0, 87)), pgThresholds)).toBeUndefined();
    expect(finding?.confidence).toBeGreaterThan(0.9);
    expect(assessSaturation(stats(clients.slice(0, 50)), pgThresholds)).toBeUndefined();
  });

  it('a database CONNECTION LIMIT tighter than the server is the limit that counts', () => {
    const clients = [
      ...Array.from({ length: 9 }, () => session({ state: 'active' })),
      ...Array.from({ length: 30 }, () => session({ datname: 'other' })),
    ];
    const finding = assessSaturation(stats(clients, { databaseConnectionLimit: 10 }), pgThresholds);
    expect(finding?.facts).toMatchObject({ connections: 9, usable_connections: 10, limit_scope: 'database', by_state: { active: 9 } });
    expect(finding?.rootCause).toMatch(
      /\(database payments\): 9 of 10 usable slots in use \(the database's CONNECTION LIMIT 10\); 9 of them active/,
    );
    expect(assessSaturation(stats(clients, { databaseConnectionLimit: 50 }), pgThresholds)).toBeUndefined();
    // A limit of 0 closes the database on purpose: not exhausted.
    expect(assessSaturation(stats(clients, { databaseConnectionLimit: 0 }), pgThresholds)).toBeUndefined();
  });

  it("a role's CONNECTION LIMIT counts its sessions in every database, and only they are described", () => {
    const clients = [
      ...Array.from({ length: 6 }, () => session({ usename: 'payment_app', state: 'idle', applicationName: 'leaky-pool' })),
      ...Array.from({ length: 3 }, () => session({ usename: 'payment_app', datname: 'reports', state: 'idle' })),
      ...Array.from({ length: 20 }, () => session({ usename: 'batch', state: 'active' })),
    ];
    const finding = assessSaturation(
      stats(clients, { roleConnectionLimits: [{ role: 'payment_app', limit: 10, connections: 9 }] }),
      pgThresholds,
    );
    expect(finding?.facts).toMatchObject({
      connections: 9,
      usable_connections: 10,
      limit_scope: 'role',
      limit_role: 'payment_app',
      by_state: { idle: 9 },
      top_application: 'leaky-pool',
    });
    expect(finding?.rootCause).toMatch(/\(role payment_app\): 9 of 10 usable slots in use \(role payment_app's CONNECTION LIMIT 10\)/);
    expect(
      assessSaturation(stats(clients, { roleConnectionLimits: [{ role: 'payment_app', limit: 40, connections: 9 }] }), pgThresholds),
    ).toBeUndefined();
  });

  it('read from the maintenance database because the database refused the probe: the probe takes no slot there, and the refusal is evidence', () => {
    const clients = Array.from({ length: 14 }, () => session({ state: 'idle', applicationName: 'vigil-chaos pool-exhaustion' }));
    const refused = 'too many connections for database "payments"';
    const over = { databaseConnectionLimit: 14, refused, readFrom: 'postgres://probe@db/postgres' };
    const finding = assessSaturation(stats(clients, over), pgThresholds);
    expect(finding?.facts).toMatchObject({ connections: 14, usable_connections: 14, limit_scope: 'database', refused });
    expect(finding?.rootCause).toMatch(/14 of 14 usable slots.*14 of them idle.*refused the probe's own connection/);
    expect(finding?.confidence).toBeGreaterThanOrEqual(0.9);
    // Refused, though a count read a moment later is under the threshold: still exhausted.
    expect(assessSaturation(stats(clients.slice(0, 8), over), pgThresholds)?.confidence).toBeGreaterThanOrEqual(0.9);
    expect(assessPostgres(stats(clients, over), pgThresholds).observation).toMatch(/read from postgres:\/\/probe@db\/postgres/);
  });

  it('refused even on the maintenance database: the refusal names the limit that is taken', () => {
    const role = assessPostgres({ refused: 'too many connections for role "payment_app"', database: 'payments' }, pgThresholds);
    expect(role.findings[0]).toMatchObject({
      category: 'postgres-connections',
      source: 'postgres.refused',
      facts: { limit_scope: 'role', limit_role: 'payment_app', database: 'payments' },
    });
    expect(role.observation).toMatch(/refused every connection/);
    const server = assessPostgres({ refused: 'sorry, too many clients already', database: 'payments' }, pgThresholds);
    expect(server.findings[0]?.facts).toMatchObject({ limit_scope: 'server' });
    expect(server.findings[0]?.rootCause).toMatch(/refuses new connections \(server\)/);
  });

  it('reports sessions idle in a transaction past the threshold, oldest first', () => {
    const old = session({ pid: 31, state: 'idle in transaction', stateAgeS: 400, query: 'SELECT * FROM orders FOR UPDATE' });
    const newer = session({ pid: 32, state: 'idle in transaction (aborted)', stateAgeS: 45 });
    const fresh = session({ pid: 33, state: 'idle in transaction', stateAgeS: 3 });
    const finding = assessIdleInTransaction(stats([newer, fresh, old]), pgThresholds);
    expect(finding?.facts).toMatchObject({
      idle_pid: 31,
      idle_for_s: 400,
      idle_count: 2,
      idle_pids: [31, 32],
      idle_query: 'SELECT * FROM orders FOR UPDATE',
      idle_threshold_s: pgThresholds.idleInTransactionMinS,
    });
    expect(finding?.confidence).toBeCloseTo(0.8);
    expect(assessIdleInTransaction(stats([fresh]), pgThresholds)).toBeUndefined();
  });

  it('a healthy server gives no finding and an observation that says what was checked', () => {
    const { findings, observation } = assessPostgres(stats([session(), session()]), pgThresholds);
    expect(findings).toEqual([]);
    expect(observation).toBe('database payments: 3/97 usable connections in use, 0 session(s) waiting on a lock, 0 idle in transaction');
  });
});

describe('Redis', () => {
  const info = (fields: Record<string, string | number>) =>
    parseRedisInfo(['# Memory', ...Object.entries(fields).map(([k, v]) => `${k}:${v}`), '# Errorstats', ''].join('\r\n'));

  it('parses INFO sections into fields', () => {
    expect(parseRedisInfo('# Server\r\nredis_version:7.0.15\r\n\r\n# Errorstats\r\nerrorstat_OOM:count=3\r\n')).toEqual({
      redis_version: '7.0.15',
      errorstat_OOM: 'count=3',
    });
  });

  it('memory near maxmemory with evictions or refused writes is memory pressure', () => {
    const { findings } = assessRedis(
      info({ used_memory: 9.7 * 1024 * 1024, maxmemory: 10 * 1024 * 1024, maxmemory_policy: 'noeviction', errorstat_OOM: 'count=12' }),
      defaultRedisThresholds,
    );
    expect(findings[0]?.category).toBe('redis-memory');
    expect(findings[0]?.facts).toMatchObject({ maxmemory_policy: 'noeviction', oom_errors: 12, memory_ratio: 0.97 });
    expect(findings[0]?.rootCause).toMatch(/9\.7 MiB used of 10 MiB \(97%\); 12 writes refused with OOM/);
    expect(findings[0]?.confidence).toBeCloseTo(0.89);
  });

  it('no maxmemory, low use, or a few blocked clients is not a finding', () => {
    expect(assessRedis(info({ used_memory: 5_000_000, maxmemory: 0 }), defaultRedisThresholds).findings).toEqual([]);
    expect(assessRedis(info({ used_memory: 1_000, maxmemory: 10_000, blocked_clients: 3 }), defaultRedisThresholds).findings).toEqual([]);
    expect(assessRedis(info({ blocked_clients: 60, connected_clients: 80 }), defaultRedisThresholds).findings[0]?.category).toBe(
      'redis-clients',
    );
  });
});

describe('HTTP health', () => {
  it('a failing, slow or silent endpoint is a symptom; a good answer an observation', () => {
    expect(assessHttp({ url: 'http://x/health', status: 503, latencyMs: 12 }, 2000).findings[0]?.rootCause).toBe(
      'the health endpoint answered 503 in 12ms',
    );
    expect(assessHttp({ url: 'http://x/health', status: 200, latencyMs: 2500 }, 2000).findings[0]?.summary).toMatch(/slower than 2000ms/);
    const silent = assessHttp({ url: 'http://x/health', latencyMs: 5000, error: 'timed out after 5000ms' }, 2000);
    expect(silent.findings[0]).toMatchObject({ category: 'http-symptom', confidence: 0.3, facts: { health_status: null } });
    const good = assessHttp({ url: 'http://x/health', status: 200, latencyMs: 8 }, 2000);
    expect(good).toEqual({ findings: [], observation: 'the health endpoint answered 200 in 8ms' });
  });
});
