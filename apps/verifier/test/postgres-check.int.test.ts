import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { catalogFromConfig } from '@vigil/catalog';
import { isVigilError } from '@vigil/errors';
import { createEvent, VerificationCheck, type EventDataInput, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { collect, createFaultDatabase, eventually, freePort, uniqueName, type FaultDatabase } from '@vigil/testing';
import { runPostgresCheck } from '../src/checks/postgres-check.js';
import { buildVerifier } from '../src/service.js';

/**
 * Postgres checks against the real local Postgres: a throwaway database per test with real faults
 * (sessions idle in a transaction, connection limits taken), read by an ordinary monitoring role
 * (pg_monitor, not a superuser: connection limits apply to it as to the service's own probe DSN).
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function faultDatabase(limit = -1): Promise<FaultDatabase> {
  const db = await createFaultDatabase(limit);
  cleanups.push(() => db.drop());
  return db;
}

const check = (expect: 'no_idle_in_transaction' | 'accepts_connections', olderThanS?: number) =>
  VerificationCheck.parse({ kind: 'postgres', name: `db ${expect}`, expect, olderThanS }) as Extract<
    VerificationCheck,
    { kind: 'postgres' }
  >;

/** A session of the service that opens a transaction and then waits (the classic leaked transaction). */
async function idleInTransaction(db: FaultDatabase, aborted = false): Promise<{ pid: number; client: pg.Client }> {
  const client = await db.connect('payment-api');
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await client.query('BEGIN');
  if (aborted) await client.query('SELECT 1/0').catch(() => undefined);
  else await client.query('SELECT 1');
  return { pid: rows[0]!.pid, client };
}

const options = (dsn: string) => ({ dsn, timeoutMs: 5_000 });

describe('no_idle_in_transaction', () => {
  it('fails naming the sessions idle in a transaction past olderThanS, and passes once they end', async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    const first = await idleInTransaction(db);
    const second = await idleInTransaction(db, true); // 'idle in transaction (aborted)' counts too
    await db.connect('payment-api'); // an idle session outside a transaction does not
    const idle = check('no_idle_in_transaction', 0.2);
    // Polled, not slept: the sessions become "older than 0.2 s" at some moment after it.
    const attempt = await eventually(async () => {
      const a = await runPostgresCheck(idle, options(dsn));
      return a.failure?.error?.startsWith('2 sessions') ? a : undefined;
    });
    expect(attempt).toMatchObject({ check: idle.name, passed: false, failure: { blame: 'service', check: idle.name } });
    expect(attempt.failure!.error).toMatch(
      new RegExp(`^2 sessions idle in a transaction for over 0.2s in database ${db.name} \\(oldest pid ${first.pid}, [\\d.]+s\\)$`),
    );
    expect(attempt.failure!.excerpt).toContain(`pid ${second.pid} (${db.role}, payment-api)`);

    await first.client.query('ROLLBACK');
    await second.client.query('ROLLBACK');
    expect(await runPostgresCheck(idle, options(dsn))).toMatchObject({ passed: true });
  });

  it('a transaction younger than olderThanS passes', async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    const young = await idleInTransaction(db);
    const attempt = await runPostgresCheck(check('no_idle_in_transaction', 600), options(dsn));
    expect(attempt).toMatchObject({ passed: true });
    // The same session fails a threshold of 0 (it is idle in a transaction at all): the pass above is the threshold's doing.
    const strict = await eventually(async () => {
      const a = await runPostgresCheck(check('no_idle_in_transaction', 0), options(dsn));
      return a.passed ? undefined : a;
    });
    expect(strict.failure!.error).toContain(`oldest pid ${young.pid}`);
  });
});

describe('accepts_connections', () => {
  it("a database whose CONNECTION LIMIT is taken refuses the probe: the check fails quoting Postgres's refusal", async () => {
    const db = await faultDatabase(3);
    const dsn = await db.probeDsn();
    for (let i = 0; i < 3; i += 1) await db.connect('leaky-pool');
    const attempt = await runPostgresCheck(check('accepts_connections'), options(dsn));
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'service' } });
    expect(attempt.failure!.error).toBe(`database ${db.name} refused a new connection: too many connections for database "${db.name}"`);
  });

  it('a database limit 90% taken fails with the scope and the counts (the probe itself not counted)', async () => {
    const db = await faultDatabase(10);
    const dsn = await db.probeDsn();
    for (let i = 0; i < 9; i += 1) await db.connect('leaky-pool');
    const attempt = await runPostgresCheck(check('accepts_connections'), options(dsn));
    expect(attempt.failure?.error).toBe(`database ${db.name}: 9/10 connections in use (90% or more taken)`);
  });

  it("a role's CONNECTION LIMIT taken by its sessions in the database fails naming the role", async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    await db.admin(`ALTER ROLE ${db.role} CONNECTION LIMIT 2`);
    for (let i = 0; i < 2; i += 1) await db.connect('leaky-pool');
    const attempt = await runPostgresCheck(check('accepts_connections'), options(dsn));
    expect(attempt.failure?.error).toBe(`role ${db.role}: 2/2 connections in use (90% or more taken)`);
  });

  it('free slots everywhere: passes', async () => {
    const db = await faultDatabase(20);
    const dsn = await db.probeDsn();
    await db.admin(`ALTER ROLE ${db.role} CONNECTION LIMIT 20`);
    for (let i = 0; i < 3; i += 1) await db.connect('payment-api');
    expect(await runPostgresCheck(check('accepts_connections'), options(dsn))).toMatchObject({ passed: true });
  });

  it('a server that is down fails the check with the connection error, never the password', async () => {
    const port = await freePort();
    const dsn = `postgres://probe:s3cret-pw@127.0.0.1:${port}/payments`;
    const attempt = await runPostgresCheck(check('accepts_connections'), options(dsn));
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'service' } });
    expect(attempt.failure!.error).toContain(`cannot connect to database payments (postgres://probe:***@127.0.0.1:${port}/payments)`);
    expect(attempt.failure!.error).toContain('ECONNREFUSED');
    expect(JSON.stringify(attempt)).not.toContain('s3cret-pw');
  });
});

describe("the verifier's own setup: inconclusive, never a pass", () => {
  it("a role that cannot see other sessions (no pg_monitor) would see nothing wrong: the attempt is the verifier's failure", async () => {
    const db = await faultDatabase();
    const blind = `${db.name}_blind`;
    await db.admin(`CREATE ROLE ${blind} LOGIN`);
    cleanups.push(() => db.admin(`DROP ROLE IF EXISTS ${blind}`));
    const url = new URL(db.dsn);
    url.username = blind;
    const leaked = await idleInTransaction(db);
    await eventually(async () =>
      (await runPostgresCheck(check('no_idle_in_transaction', 0), options(await db.probeDsn()))).passed ? undefined : true,
    );
    const attempt = await runPostgresCheck(check('no_idle_in_transaction', 0), options(url.toString()));
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'verifier' } });
    expect(attempt.failure!.error).toMatch(/cannot see other sessions' state: grant it pg_monitor/);
    await leaked.client.query('ROLLBACK');
  });

  it("a database that does not exist is the verifier's configuration, not the service failing", async () => {
    const db = await faultDatabase();
    const url = new URL(await db.probeDsn());
    url.pathname = `/${db.name}_missing`;
    const attempt = await runPostgresCheck(check('accepts_connections'), options(url.toString()));
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'verifier' } });
    expect(attempt.failure!.error).toMatch(/3D000|does not exist/);
  });

  it('a role whose CONNECTION LIMIT is 0 is closed on purpose, not exhausted', async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    await db.connect('draining');
    await db.admin(`ALTER ROLE ${db.role} CONNECTION LIMIT 0`);
    expect(await runPostgresCheck(check('accepts_connections'), options(dsn))).toMatchObject({ passed: true });
  });
});

describe('through the verifier, with the database from its service catalog', () => {
  let dir: string;
  const log = createLogger({ service: 'verifier-test', level: 'silent' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-verifier-catalog-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('baseline sees the leaked transaction, proof passes after the fix; a service without a database is refused', async () => {
    const db = await faultDatabase();
    const dsn = await db.probeDsn();
    const file = join(dir, 'catalog.yaml');
    await writeFile(file, 'services:\n  payment-api:\n    postgres: ${PAYMENT_DB_PROBE_URL}\n  web:\n    health: http://127.0.0.1:1/\n');
    const catalog = await catalogFromConfig(file, { PAYMENT_DB_PROBE_URL: dsn });
    const bus = new MemoryBus({ prefix: uniqueName('ver') });
    const verifier = buildVerifier(
      {
        bus,
        log,
        catalog,
        swarm: {
          browser: { kind: 'launch', executablePath: '/nonexistent/chromium' },
          httpTimeoutMs: 5_000,
          stepTimeoutMs: 1_000,
          maxHttpInFlight: 4,
          maxBrowserInFlight: 1,
        },
      },
      { concurrency: 1 },
    );
    cleanups.push(() => verifier.swarm.close());
    const handle = verifier.consumer.handlers['verification.requested']!;
    const ctx = { deliveryCount: 1, consumer: 'verifier', log };
    const ask = async (incidentId: string, data: Partial<EventDataInput<'verification.requested'>>) => {
      const request = createEvent(
        'verification.requested',
        {
          service: 'payment-api',
          checks: [{ kind: 'postgres', name: 'no leaked transaction', expect: 'no_idle_in_transaction', olderThanS: 0.2 }],
          concurrency: 5,
          roundIntervalMs: 10,
          deadlineMs: 10_000,
          ...data,
        } as EventDataInput<'verification.requested'>,
        { source: 'orchestrator', incidentId },
      );
      await handle(request, ctx);
      const answers = await collect(bus.read({ types: ['verification.completed'], incidentId }));
      expect(answers).toHaveLength(1);
      return (answers[0]!.event as VigilEvent<'verification.completed'>).data;
    };

    const leaked = await idleInTransaction(db);
    // Wait until the session is past olderThanS, as an incident would find it.
    await eventually(async () => !(await runPostgresCheck(check('no_idle_in_transaction', 0.2), options(dsn))).passed);
    const baseline = await ask(uniqueName('inc'), { mode: 'baseline', consecutivePasses: 1 });
    expect(baseline).toMatchObject({ mode: 'baseline', passed: false, rounds: 1, passRatio: 0 });
    expect(baseline.failures).toHaveLength(1);
    expect(baseline.failures[0]!.error).toContain(`in database ${db.name} (oldest pid ${leaked.pid}`);

    // The fix: the leaked session is ended.
    await leaked.client.query('ROLLBACK');
    const proof = await ask(uniqueName('inc'), { mode: 'proof', consecutivePasses: 2 });
    // Once per round whatever the concurrency: two rounds, two attempts.
    expect(proof).toMatchObject({ mode: 'proof', passed: true, rounds: 2, passRatio: 1, failures: [] });
    const rounds: number[] = [];
    await verifier.swarm.verify(
      {
        service: 'payment-api',
        mode: 'proof',
        checks: [check('no_idle_in_transaction', 0.2)],
        concurrency: 5,
        consecutivePasses: 2,
        roundIntervalMs: 10,
        deadlineMs: 30_000,
      },
      { onRound: (round) => void rounds.push(round.attempts) },
    );
    expect(rounds).toEqual([1, 1]);

    const refused = await handle(
      createEvent(
        'verification.requested',
        {
          service: 'web',
          mode: 'baseline',
          checks: [{ kind: 'postgres', name: 'db', expect: 'accepts_connections' }],
          deadlineMs: 2_000,
        } as EventDataInput<'verification.requested'>,
        { source: 'orchestrator', incidentId: uniqueName('inc') },
      ),
      ctx,
    ).catch((error: unknown) => error);
    expect(isVigilError(refused) && refused.code).toBe('VERIFICATION_INVALID');
    expect((refused as Error).message).toContain('has no postgres target for web');
  });
});
