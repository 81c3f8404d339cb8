import pg from 'pg';
import { VigilError } from '@vigil/errors';

/**
 * Real faults on payment-api's PostgreSQL. Every session is named `vigil-chaos <scenario>`
 * (application_name), so `pg_stat_activity` shows where it came from and `vigil chaos stop`
 * can find it. They log in as the role the URL names: an ordinary role (the app's own, e.g.
 * payment_app) for the faults Vigil may fix, a superuser only for `superuser-lock`.
 */

/** payment-api's hot row: every checkout and every /health takes its lock. */
export const HOT_ORDER_ID = 1;
export const APPLICATION_PREFIX = 'vigil-chaos';

export interface Fault {
  /** What was done, for the `fault` line: pids, role, database. */
  report: Record<string, unknown>;
  /** The sessions the fault is made of; each resolves when its session has ended. */
  sessions: Array<{ pid: number; ended: Promise<void> }>;
  /** Resolves with the reason when the fault went away from outside (its sessions were ended). */
  ended: Promise<string>;
  /** Undoes the fault (rolls back, disconnects, deletes keys). Safe to call once the fault has ended. */
  release(): Promise<void>;
}

interface Session {
  client: pg.Client;
  pid: number;
  ended: Promise<void>;
  close(): Promise<void>;
}

interface Identity {
  role: string;
  database: string;
  superuser: boolean;
}

const pgCode = (error: unknown): string | undefined => (error as { code?: string }).code;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The target without its password: `postgres://payment_app@127.0.0.1:5432/payment`. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ''}${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the database URL';
  }
}

async function openSession(url: string, applicationName: string): Promise<Session> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  // A session ended from outside (pg_terminate_backend) reports here, then emits 'end'.
  client.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  try {
    await client.connect();
    // The fault must outlive whatever timeouts the role or the database sets.
    await client.query('SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return { client, pid: rows[0]?.pid ?? -1, ended, close: () => client.end().catch(() => undefined) };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new VigilError(
      pgCode(error) === '53300' ? 'CHAOS_TOO_MANY_CONNECTIONS' : 'CHAOS_DB_UNREACHABLE',
      `${describeDatabase(url)}: ${(error as Error).message}`,
      { cause: error, details: { pgCode: pgCode(error) } },
    );
  }
}

async function identify(session: Session): Promise<Identity> {
  const { rows } = await session.client.query<Identity>(
    `SELECT current_user AS role, current_database() AS database, r.rolsuper AS superuser
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const who = rows[0];
  if (!who) throw new VigilError('CHAOS_DB_UNREACHABLE', 'the server did not say which role this session has');
  return who;
}

/** The faults Vigil may fix come from an ordinary role: the executor never touches a superuser's session. */
function requireRole(who: Identity, scenario: string, wantSuperuser: boolean): void {
  if (wantSuperuser && !who.superuser) {
    throw new VigilError(
      'CHAOS_NOT_SUPERUSER',
      `${scenario} holds the lock as a superuser, but role ${who.role} is not one: pass a superuser's URL (e.g. postgres://postgres@…/${who.database})`,
    );
  }
  if (!wantSuperuser && who.superuser) {
    throw new VigilError(
      'CHAOS_SUPERUSER',
      `role ${who.role} is a superuser; ${scenario} must run as the app's ordinary role (e.g. payment_app), since Vigil refuses to touch superuser sessions — that case is the superuser-lock scenario`,
    );
  }
}

async function requireHotRow(session: Session, who: Identity): Promise<void> {
  try {
    const { rowCount } = await session.client.query('SELECT 1 FROM orders WHERE id = $1', [HOT_ORDER_ID]);
    if (rowCount === 0) {
      throw new VigilError('CHAOS_NO_HOT_ROW', `database ${who.database} has no order ${HOT_ORDER_ID}: payment-api seeds it at start`);
    }
  } catch (error) {
    if (pgCode(error) === '42P01') {
      throw new VigilError(
        'CHAOS_NO_ORDERS',
        `database ${who.database} has no orders table (for role ${who.role}): start payment-api against it once, it creates and seeds the schema`,
      );
    }
    if (pgCode(error) === '42501')
      throw new VigilError('CHAOS_NO_PRIVILEGE', `role ${who.role} may not read orders: ${(error as Error).message}`);
    throw error;
  }
}

const allEnded = (sessions: Session[]): Promise<void> => Promise.all(sessions.map((s) => s.ended)).then(() => undefined);

/**
 * A transaction updates the hot order and goes idle without committing: every checkout and
 * every /health queues behind its row lock. `waiters` sessions run the checkout's UPDATE and
 * queue too — the requests that pile up — and finish once the lock is gone.
 */
export async function lockHotRow(url: string, options: { scenario: string; superuser: boolean; waiters: number }): Promise<Fault> {
  const name = `${APPLICATION_PREFIX} ${options.scenario}`;
  const blocker = await openSession(url, name);
  let who: Identity;
  try {
    who = await identify(blocker);
    requireRole(who, options.scenario, options.superuser);
    await requireHotRow(blocker, who);
    await blocker.client.query('BEGIN');
    // Bounded, so a row someone else already holds is an error rather than a silent wait.
    await blocker.client.query(`SET LOCAL lock_timeout = '5s'`);
    await blocker.client.query(`UPDATE orders SET status = 'processing', updated_at = now() WHERE id = ${HOT_ORDER_ID}`);
  } catch (error) {
    await blocker.close();
    if (pgCode(error) === '55P03') {
      throw new VigilError(
        'CHAOS_ROW_BUSY',
        `order ${HOT_ORDER_ID} is already locked by another transaction (another vigil chaos? \`vigil chaos stop\` ends those)`,
      );
    }
    throw error;
  }
  const waiters: Array<{ session: Session; done: Promise<void> }> = [];
  const release = async (): Promise<void> => {
    await blocker.client.query('ROLLBACK').catch(() => undefined);
    await blocker.close();
    // With the lock gone the queued UPDATEs finish at once; a waiter stuck for another reason is cut off.
    await Promise.race([Promise.all(waiters.map((w) => w.done)), sleep(5000)]);
    await Promise.all(waiters.map((w) => w.session.close()));
  };
  try {
    for (let i = 0; i < options.waiters; i += 1) {
      const session = await openSession(url, `${name} waiter`);
      const done = session.client
        .query(`UPDATE orders SET updated_at = now() WHERE id = ${HOT_ORDER_ID}`)
        .then(
          () => undefined,
          () => undefined,
        )
        .then(() => session.close());
      waiters.push({ session, done });
    }
    await untilWaiting(
      url,
      waiters.map((w) => w.session.pid),
    );
  } catch (error) {
    await release();
    throw error;
  }
  return {
    report: {
      database: who.database,
      role: who.role,
      superuser: who.superuser,
      order_id: HOT_ORDER_ID,
      blocker_pid: blocker.pid,
      waiter_pids: waiters.map((w) => w.session.pid),
    },
    sessions: [blocker, ...waiters.map((w) => w.session)],
    ended: blocker.ended.then(() => `the blocking session (pid ${blocker.pid}) ended; order ${HOT_ORDER_ID} is unlocked`),
    release,
  };
}

/** The fault line is printed only once the waiters really queue on the lock. */
async function untilWaiting(url: string, pids: number[]): Promise<void> {
  if (pids.length === 0) return;
  const monitor = await openSession(url, `${APPLICATION_PREFIX} monitor`);
  try {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const { rows } = await monitor.client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'`,
        [pids],
      );
      if (rows[0]?.n === pids.length) return;
      await sleep(50);
    }
    throw new VigilError(
      'CHAOS_WAITERS_NOT_QUEUED',
      `the waiter sessions (pids ${pids.join(', ')}) never queued on order ${HOT_ORDER_ID}'s lock`,
    );
  } finally {
    await monitor.close();
  }
}

/**
 * Sessions that open a transaction, read the orders and go quiet: no lock on the hot row, but
 * they hold connections and snapshots until someone ends them. They cross the investigator's
 * idle-in-transaction threshold (30 s by default) by waiting.
 */
export async function idleInTransaction(url: string, options: { sessions: number }): Promise<Fault> {
  const name = `${APPLICATION_PREFIX} idle-in-transaction`;
  const sessions: Session[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(sessions.map((s) => s.client.query('ROLLBACK').catch(() => undefined)));
    await Promise.all(sessions.map((s) => s.close()));
  };
  let who: Identity | undefined;
  try {
    for (let i = 0; i < options.sessions; i += 1) {
      const session = await openSession(url, name);
      sessions.push(session);
      if (!who) {
        who = await identify(session);
        requireRole(who, 'idle-in-transaction', false);
        await requireHotRow(session, who);
      }
      await session.client.query('BEGIN');
      await session.client.query(`SELECT count(*) FROM orders WHERE id <> ${HOT_ORDER_ID}`);
    }
  } catch (error) {
    await release();
    throw error;
  }
  return {
    report: { database: who?.database, role: who?.role, superuser: false, pids: sessions.map((s) => s.pid) },
    sessions,
    ended: allEnded(sessions).then(() => `all ${sessions.length} idle-in-transaction sessions ended`),
    release,
  };
}

/**
 * Takes every connection slot the app's role (or its database) may have: payment-api's pool can
 * then open no connection. The limit counts the app's own pooled connections too, so once the
 * free slots are taken the idle ones are ended (as a failover or a connection recycler would) and
 * their slots taken as they free up: the app's next request must connect, and finds no slot.
 */
export async function exhaustConnections(
  url: string,
  options: { connections?: number | undefined; fillTimeoutMs: number },
): Promise<Fault> {
  const name = `${APPLICATION_PREFIX} pool-exhaustion`;
  const first = await openSession(url, name);
  const held: Session[] = [first];
  const release = async (): Promise<void> => void (await Promise.all(held.map((s) => s.close())));
  try {
    const who = await identify(first);
    requireRole(who, 'pool-exhaustion', false);
    const { rows } = await first.client.query<{ role_limit: number; database_limit: number }>(
      `SELECT r.rolconnlimit AS role_limit, d.datconnlimit AS database_limit
         FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`,
    );
    const limits = rows[0] ?? { role_limit: -1, database_limit: -1 };
    const limit =
      limits.role_limit >= 0
        ? { scope: 'role', value: limits.role_limit }
        : limits.database_limit >= 0
          ? { scope: 'database', value: limits.database_limit }
          : undefined;
    if (!limit && options.connections === undefined) {
      throw new VigilError(
        'CHAOS_NO_CONNECTION_LIMIT',
        `neither role ${who.role} nor database ${who.database} has a CONNECTION LIMIT, so exhausting it would take the whole server's connections: ` +
          `set one (ALTER ROLE ${who.role} CONNECTION LIMIT 20) or pass --connections N`,
      );
    }
    const target = Math.min(options.connections ?? Number.MAX_SAFE_INTEGER, limit?.value ?? Number.MAX_SAFE_INTEGER);
    const ended: number[] = [];
    const deadline = Date.now() + options.fillTimeoutMs;
    while (held.length < target) {
      try {
        held.push(await openSession(url, name));
      } catch (error) {
        const full = error instanceof VigilError && error.code === 'CHAOS_TOO_MANY_CONNECTIONS';
        if (!full) throw error;
        if (Date.now() > deadline) break;
        const { rows: idle } = await first.client.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE usename = current_user AND backend_type = 'client backend' AND state = 'idle'
              AND ($2 = 'role' OR datname = current_database())
              AND application_name NOT LIKE '${APPLICATION_PREFIX}%' AND pid <> ALL($1::int[])`,
          [held.map((s) => s.pid), limit?.scope ?? 'database'],
        );
        // Signalled in a statement of its own: a WHERE clause may evaluate its conditions in any order.
        const { rows: killed } = await first.client.query<{ pid: number }>(
          'SELECT pid FROM unnest($1::int[]) AS pid WHERE pg_terminate_backend(pid)',
          [idle.map((r) => r.pid)],
        );
        ended.push(...killed.map((k) => k.pid));
        await sleep(100);
      }
    }
    return {
      report: {
        database: who.database,
        role: who.role,
        superuser: false,
        limit: limit ? `${limit.scope} CONNECTION LIMIT ${limit.value}` : `--connections ${options.connections}`,
        target,
        held: held.length,
        complete: held.length >= target,
        pids: held.map((s) => s.pid),
        ended_app_pids: ended,
      },
      sessions: held,
      ended: allEnded(held).then(() => `all ${held.length} held connections ended`),
      release,
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Ends the sessions another `vigil chaos` left (all of them, or one scenario's). */
export async function stopChaosSessions(
  url: string,
  scenario: string | undefined,
): Promise<{ database: string; terminated: number[]; refused: Array<{ pid: number; reason: string }> }> {
  const session = await openSession(url, `${APPLICATION_PREFIX}-stop`);
  try {
    const who = await identify(session);
    const pattern = scenario === undefined ? `${APPLICATION_PREFIX} %` : `${APPLICATION_PREFIX} ${scenario}%`;
    const { rows } = await session.client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1 AND pid <> pg_backend_pid() ORDER BY pid`,
      [pattern],
    );
    const terminated: number[] = [];
    const refused: Array<{ pid: number; reason: string }> = [];
    // One at a time: a session we may not signal (a superuser's) must not stop the others.
    for (const { pid } of rows) {
      try {
        const { rows: done } = await session.client.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
        if (done[0]?.ok) terminated.push(pid);
        else refused.push({ pid, reason: 'not signalled (it may have ended already)' });
      } catch (error) {
        refused.push({ pid, reason: (error as Error).message });
      }
    }
    return { database: who.database, terminated, refused };
  } finally {
    await session.close();
  }
}
