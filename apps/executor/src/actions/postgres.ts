import pg from 'pg';
import { z } from 'zod';
import { describeTarget, maintenanceTarget, TOO_MANY_CONNECTIONS } from '@vigil/catalog';
import { defineAction, type ActionContext, type ActionResult, type Inspection } from './action.js';

const Pid = z.number().int().positive();

interface SessionInfo {
  pid: number;
  usename: string | null;
  state: string | null;
  backend_type: string | null;
  superuser: boolean;
  replication: boolean;
  query: string;
  state_age_s: number | null;
  backend_start: Date | string | null;
}

/** The database an action acts on, and how the executor's session reached it. */
interface TargetDatabase {
  /** The target's database by name: queries filter on it, since the session may sit in another. */
  name: string;
  /** For summaries: '' when connected directly, else how and why the session went elsewhere. */
  route: string;
}

/** Where a target's database refuses new connections, the executor goes through this one instead. */
const MAINTENANCE_DATABASE = 'postgres';

function openClient(connectionString: string, timeoutMs: number): pg.Client {
  const client = new pg.Client({
    connectionString,
    application_name: 'vigil-executor',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * Connects to the target's own database; when that database refuses new connections (its
 * CONNECTION LIMIT is taken, which is the fault a connection-exhaustion fix is for), to the
 * maintenance database of the same server as the same role instead: `pg_stat_activity` and the
 * signalling functions there see every database's sessions.
 */
async function connectTarget(dsn: string, timeoutMs: number): Promise<{ client: pg.Client; target: TargetDatabase }> {
  const client = openClient(dsn, timeoutMs);
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    return { client, target: { name: rows[0]?.name ?? '', route: '' } };
  } catch (error) {
    await client.end().catch(() => undefined);
    const maintenance = maintenanceTarget(dsn, MAINTENANCE_DATABASE);
    if ((error as { code?: unknown }).code !== TOO_MANY_CONNECTIONS || !maintenance) throw error;
    const fallback = openClient(maintenance.url, timeoutMs);
    try {
      await fallback.connect();
    } catch (second) {
      await fallback.end().catch(() => undefined);
      const both = `${(error as Error).message}; nor through the maintenance database ${MAINTENANCE_DATABASE}: ${(second as Error).message}`;
      throw new Error(both, { cause: second });
    }
    const route = ` (via the maintenance database ${MAINTENANCE_DATABASE}: the target database refuses new connections)`;
    return { client: fallback, target: { name: maintenance.database, route } };
  }
}

/**
 * One short connection to the service's database (or, when it is full, its server's maintenance
 * database) as its operator role, with a statement timeout. The role needs `pg_read_all_stats`
 * (to see other sessions' state) and `pg_signal_backend` (to cancel or end them) — never
 * superuser: Postgres itself then refuses to touch a superuser's session.
 */
async function withDatabase<T>(
  ctx: ActionContext,
  timeoutMs: number,
  work: (client: pg.Client, target: TargetDatabase) => Promise<T>,
): Promise<T> {
  const dsn = ctx.targets.postgres;
  if (!dsn) throw new Error(`${ctx.service} declares no executor.postgres target in the service catalog`);
  let client: pg.Client | undefined;
  try {
    const connected = await connectTarget(dsn, timeoutMs);
    client = connected.client;
    return await work(client, connected.target);
  } catch (error) {
    // The driver's messages can carry the DSN; name the target without its password.
    throw new Error(`${describeTarget(dsn)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client?.end().catch(() => undefined);
  }
}

async function sessionOf(client: pg.Client, pid: number, database: string): Promise<SessionInfo | undefined> {
  const { rows } = await client.query<SessionInfo>(
    `SELECT a.pid, a.usename, a.state, a.backend_type, left(a.query, 300) AS query,
            coalesce(r.rolsuper, false) AS superuser, coalesce(r.rolreplication, false) AS replication,
            extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_age_s, a.backend_start
       FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
      WHERE a.pid = $1 AND a.datname = $2`,
    [pid, database],
  );
  return rows[0];
}

/** Why a session may not be signalled: not found, not an ordinary client, privileged, or us. */
function refusalsFor(session: SessionInfo | undefined, pid: number, ownPid: number): string[] {
  if (!session) return [`pid ${pid} is not a session of this database (it may have ended already)`];
  const problems: string[] = [];
  if (pid === ownPid) problems.push(`pid ${pid} is the executor's own session`);
  if (session.backend_type !== 'client backend')
    problems.push(`pid ${pid} is a ${session.backend_type ?? 'non-client'} process, not a client session`);
  if (session.superuser) problems.push(`pid ${pid} belongs to a superuser (${session.usename ?? 'unknown'})`);
  if (session.replication) problems.push(`pid ${pid} belongs to a replication role (${session.usename ?? 'unknown'})`);
  return problems;
}

/** The pid must be the blocker the evidence named: a plan cannot point the executor at another session. */
function blockerMismatch(pid: number, ctx: ActionContext): string[] {
  const named = ctx.evidenceFacts['blocker_pid'];
  if (named === undefined) return [`the evidence names no blocker_pid, so pid ${pid} cannot be confirmed as the blocker`];
  return Number(named) === pid ? [] : [`pid ${pid} is not the blocker the evidence named (pid ${String(named)})`];
}

/** The blocker's session start as the evidence recorded it, when it did (matched exactly). */
function namedStart(ctx: ActionContext): string | null {
  const named = ctx.evidenceFacts['blocker_backend_start'];
  if (named === undefined || named === null) return null;
  return named instanceof Date ? named.toISOString() : String(named);
}

/**
 * Only the session the step was planned against may be signalled: one that began before the
 * claim (a pid reused by a newer session never is), in the target's database, and, where the
 * evidence recorded the blocker's session start, exactly that one. The same condition sits in the
 * signalling statement.
 *
 * Clocks: `backend_start` is the target server's clock; `claimedAt` is the claim's start as the
 * executor's own database stamped it (not an executor copy's clock, which may drift). When the
 * target is that same server, this compares like with like. When it is another server, the
 * bound is off by the skew between the two databases, with no margin added: a target clock
 * behind could let through a session that began just after the claim on a pid reused within
 * that skew, and a target clock ahead could refuse a blocker that began within it before the
 * claim (which fails safe: nothing is signalled). The exact match on `blocker_backend_start`
 * compares the target's clock with itself (the evidence read it from the target), so where the
 * evidence recorded it, identity does not rest on any two clocks agreeing.
 */
const identitySql = `FROM pg_stat_activity WHERE pid = $1 AND backend_start < $2::timestamptz
   AND ($3::text IS NULL OR backend_start = $3::timestamptz) AND datname = $4`;

const identityValues = (pid: number, ctx: ActionContext, database: string): unknown[] => [
  pid,
  ctx.claimedAt.toISOString(),
  namedStart(ctx),
  database,
];

async function identityRefusals(client: pg.Client, pid: number, ctx: ActionContext, database: string): Promise<string[]> {
  const { rowCount } = await client.query(`SELECT 1 ${identitySql}`, identityValues(pid, ctx, database));
  if (rowCount && rowCount > 0) return [];
  const started = namedStart(ctx);
  return [
    `pid ${pid} is not the session the step was to end: it began at or after the step's claim (${ctx.claimedAt.toISOString()})${started ? ` or not at ${started} as the evidence recorded` : ''}`,
  ];
}

const describe = (s: SessionInfo): string =>
  `pid ${s.pid} (user ${s.usename ?? 'unknown'}, ${s.state ?? 'unknown state'}${s.state_age_s !== null ? ` for ${Math.round(s.state_age_s)}s` : ''}; query: ${s.query.replace(/\s+/g, ' ').trim()})`;

function signalAction(kind: 'cancel' | 'terminate') {
  const fn = kind === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
  const timeoutMs = 10_000;
  return defineAction({
    name: `postgres.${kind}_backend`,
    description:
      kind === 'cancel'
        ? 'Cancels the running query of the blocking session; the session and its transaction stay.'
        : 'Ends the blocking session; its open transaction rolls back and its locks are released.',
    params: z.strictObject({ pid: Pid }),
    risk: 'LOW',
    blastRadius: kind === 'cancel' ? 'one query of one Postgres session' : 'one Postgres session and its open transaction',
    timeoutMs,
    commands: ({ pid }) => [{ language: 'sql', text: `SELECT ${fn}(${pid})` }],
    async preconditions({ pid }, ctx) {
      const mismatch = blockerMismatch(pid, ctx);
      if (mismatch.length > 0) return mismatch;
      return withDatabase(ctx, timeoutMs, async (client, target) => {
        const own = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const problems = refusalsFor(await sessionOf(client, pid, target.name), pid, own.rows[0]?.pid ?? -1);
        return problems.length > 0 ? problems : identityRefusals(client, pid, ctx, target.name);
      });
    },
    dryRun: async ({ pid }, ctx) =>
      withDatabase(ctx, timeoutMs, async (client, target) => {
        const session = await sessionOf(client, pid, target.name);
        return `would run SELECT ${fn}(${pid}) on ${describeTarget(ctx.targets.postgres ?? '')}${target.route}: ${session ? describe(session) : `pid ${pid} (not found now)`}`;
      }),
    run: async ({ pid }, ctx): Promise<ActionResult> =>
      withDatabase(ctx, timeoutMs, async (client, target) => {
        // Checked again right before the signal: the pid may have been reused since the preconditions.
        const before = await sessionOf(client, pid, target.name);
        const own = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const problems = refusalsFor(before, pid, own.rows[0]?.pid ?? -1);
        if (problems.length > 0) return { status: 'failed', summary: `not signalled: ${problems.join('; ')}` };
        // The signal goes only to the session that began before the claim (and, if the evidence
        // says when the blocker began, to exactly that one), checked in the same statement.
        const { rows } = await client.query<{ done: boolean }>(
          `SELECT ${fn}(pid) AS done ${identitySql}`,
          identityValues(pid, ctx, target.name),
        );
        if (rows.length === 0) {
          const why = (await sessionOf(client, pid, target.name))
            ? (await identityRefusals(client, pid, ctx, target.name)).join('; ') || `pid ${pid} changed before the signal`
            : `pid ${pid} ended before it was signalled`;
          return { status: 'failed', summary: `not signalled: ${why}` };
        }
        if (!rows[0]?.done) return { status: 'failed', summary: `${fn}(${pid}) returned false: the session was not signalled` };
        if (kind === 'terminate') {
          // Signalled is not gone: wait (briefly) until the session has left.
          for (let i = 0; i < 40 && (await sessionOf(client, pid, target.name)); i += 1) await new Promise((r) => setTimeout(r, 50));
          if (await sessionOf(client, pid, target.name)) return { status: 'failed', summary: `pid ${pid} was signalled but has not ended` };
        }
        return {
          status: 'succeeded',
          summary: `${kind === 'cancel' ? 'cancelled the query of' : 'terminated'} ${before ? describe(before) : `pid ${pid}`}${target.route}`,
        };
      }),
    // Whether a query was cancelled leaves no trace; whether a session ended does.
    ...(kind === 'terminate'
      ? {
          inspect: async ({ pid }: { pid: number }, ctx: ActionContext, since: Date): Promise<Inspection | undefined> =>
            withDatabase(ctx, timeoutMs, async (client, target): Promise<Inspection | undefined> => {
              const session = await sessionOf(client, pid, target.name);
              if (!session) return { done: true, summary: `pid ${pid} is no longer a session of this database: the session has ended` };
              // A pid is reused. Where the evidence recorded when the blocker began, that decides
              // exactly, on the target's own clock: the same start is the same session.
              const started = namedStart(ctx);
              if (started !== null) {
                const { rows } = await client.query<{ same: boolean; newer: boolean }>(
                  `SELECT backend_start = $2::timestamptz AS same, backend_start > $2::timestamptz AS newer
                   FROM pg_stat_activity WHERE pid = $1 AND datname = $3`,
                  [pid, started, target.name],
                );
                const row = rows[0];
                if (!row) return { done: true, summary: `pid ${pid} is no longer a session of this database: the session has ended` };
                if (row.same) return { done: false, summary: `pid ${pid} is still the session it was to end: ${describe(session)}` };
                if (row.newer) {
                  return { done: true, summary: `pid ${pid} is now a session that began after ${started}: the one it was to end has gone` };
                }
                // Neither that session nor a newer one: the evidence does not describe this pid (facts
                // from different findings, or a start read at another precision). Nothing here can
                // tell whether the step took effect, so it is not said to have: unknown, escalated.
                return undefined;
              }
              // Otherwise a session that began after the step did is not the one it was to end.
              // `since` is the claim's start by the executor's database clock, `backend_start` the
              // target's: when they are different servers, the bound is off by their skew (see
              // identitySql), and a target clock ahead by more than the blocker's head start on the
              // claim would read the blocker itself as a newer session.
              if (session.backend_start && new Date(session.backend_start) >= since) {
                return { done: true, summary: `pid ${pid} is now a session that began after the step: the one it was to end has gone` };
              }
              return { done: false, summary: `pid ${pid} is still the session it was to end: ${describe(session)}` };
            }),
        }
      : {}),
  });
}

export const cancelBackend = signalAction('cancel');
export const terminateBackend = signalAction('terminate');

const idleSql = `SELECT a.pid FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
  WHERE a.datname = $2 AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
    AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
    AND a.state_change < clock_timestamp() - make_interval(secs => $1)
    AND NOT coalesce(r.rolsuper, false) AND NOT coalesce(r.rolreplication, false)`;

export const terminateIdleInTransaction = defineAction({
  name: 'postgres.terminate_idle_in_transaction',
  description: 'Ends ordinary sessions idle in a transaction for longer than N seconds; their transactions roll back.',
  params: z.strictObject({
    older_than_s: z.number().int().min(5, 'at least 5 seconds: younger transactions are ordinary traffic'),
    max_sessions: z.number().int().min(1).max(100).default(20),
  }),
  risk: 'LOW',
  blastRadius: 'the sessions idle in a transaction past the threshold (at most max_sessions)',
  timeoutMs: 15_000,
  commands: ({ older_than_s }) => [
    {
      language: 'sql',
      text: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '${older_than_s} seconds'`,
    },
  ],
  async preconditions({ older_than_s, max_sessions }, ctx) {
    return withDatabase(ctx, 15_000, async (client, target) => {
      const { rows } = await client.query<{ pid: number }>(idleSql, [older_than_s, target.name]);
      if (rows.length === 0) return [`no ordinary session is idle in a transaction for longer than ${older_than_s}s`];
      if (rows.length > max_sessions)
        return [`${rows.length} sessions match, more than max_sessions (${max_sessions}): a human should look`];
      return [];
    });
  },
  dryRun: async ({ older_than_s }, ctx) =>
    withDatabase(ctx, 15_000, async (client, target) => {
      const { rows } = await client.query<{ pid: number }>(idleSql, [older_than_s, target.name]);
      return `would terminate ${rows.length} session(s) idle in a transaction for over ${older_than_s}s: pids ${rows.map((r) => r.pid).join(', ') || 'none'}${target.route}`;
    }),
  run: async ({ older_than_s, max_sessions }, ctx): Promise<ActionResult> =>
    withDatabase(ctx, 15_000, async (client, target) => {
      // The condition is checked again in the same statement: a session that woke up since the
      // preconditions ran is left alone.
      const { rows } = await client.query<{ pid: number; done: boolean }>(
        `SELECT pid, pg_terminate_backend(pid) AS done FROM (${idleSql} LIMIT $3) idle`,
        [older_than_s, target.name, max_sessions],
      );
      const ended = rows.filter((r) => r.done).map((r) => r.pid);
      return ended.length > 0
        ? {
            status: 'succeeded',
            summary: `terminated ${ended.length} session(s) idle in a transaction for over ${older_than_s}s: pids ${ended.join(', ')}${target.route}`,
          }
        : { status: 'failed', summary: `no session idle in a transaction for over ${older_than_s}s was left to terminate` };
    }),
});

/**
 * How full the connection limits are that keep clients out of the target database ($1), and its
 * idle sessions older than $2 seconds that may be ended because of it. Slots count client
 * backends only (background processes have their own), and never the executor's own session: it
 * leaves in a moment, and counting it would make its own arrival look like exhaustion. A limit is
 * exhausted at 90% taken (`used * 10 >= limit * 9`). A database limit of 0 admits nobody however
 * many sessions end, so it is never a reason. Roles count server-wide, as Postgres counts them,
 * but only roles with a session in the target database matter; when only role limits are
 * exhausted, only those roles' sessions are candidates.
 */
const exhaustionCte = `WITH clients AS (
    SELECT a.pid, a.datname, a.usesysid, a.usename, a.state, a.state_change,
           coalesce(r.rolsuper, false) AS superuser, coalesce(r.rolreplication, false) AS replication,
           coalesce(r.rolconnlimit, -1) AS role_limit
      FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
     WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  ), usage AS (
    SELECT d.datconnlimit AS db_limit,
           (SELECT count(*) FROM clients WHERE datname = $1)::int AS db_used,
           -- reserved_connections exists from Postgres 16: slots only its holders may take.
           (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
             - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0)) AS server_limit,
           (SELECT count(*) FROM clients)::int AS server_used
      FROM pg_database d WHERE d.datname = $1
  ), roles AS (
    SELECT usesysid, max(usename) AS name, max(role_limit) AS role_limit, count(*)::int AS used
      FROM clients
     -- Superusers are exempt from role limits; a limit of 0 closes a role on purpose (nothing to free).
     WHERE role_limit > 0 AND NOT superuser AND usesysid IN (SELECT usesysid FROM clients WHERE datname = $1)
     GROUP BY usesysid
  ), exhausted AS (
    SELECT (db_limit > 0 AND db_used * 10 >= db_limit * 9) OR server_used * 10 >= server_limit * 9 AS whole FROM usage
  ), candidates AS (
    SELECT c.pid, c.state_change FROM clients c, exhausted e
     WHERE c.datname = $1 AND NOT c.superuser AND NOT c.replication
       AND c.state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)')
       AND c.state_change < clock_timestamp() - make_interval(secs => $2)
       AND (e.whole OR c.usesysid IN (SELECT usesysid FROM roles WHERE used * 10 >= role_limit * 9))
  )`;

interface Exhaustion {
  db_limit: number;
  db_used: number;
  server_limit: number;
  server_used: number;
  roles: Array<{ name: string; role_limit: number; used: number }>;
  pids: number[];
}

async function readExhaustion(client: pg.Client, database: string, olderThanS: number): Promise<Exhaustion | undefined> {
  const { rows } = await client.query<Exhaustion>(
    `${exhaustionCte}
     SELECT u.*, (SELECT coalesce(json_agg(r ORDER BY r.name), '[]') FROM roles r) AS roles,
            (SELECT coalesce(array_agg(pid ORDER BY state_change), '{}') FROM candidates) AS pids
       FROM usage u`,
    [database, olderThanS],
  );
  return rows[0];
}

const isExhausted = (used: number, limit: number): boolean => used * 10 >= limit * 9;

/** The limits as they stand, e.g. "database payments 13/14, server 20/97, role app 3/10". */
function describeUsage(database: string, e: Exhaustion, onlyExhausted: boolean): string {
  const parts = [
    {
      text: `database ${database} ${e.db_used}${e.db_limit >= 0 ? `/${e.db_limit}` : ' (no limit)'}`,
      full: e.db_limit > 0 && isExhausted(e.db_used, e.db_limit),
    },
    { text: `server ${e.server_used}/${e.server_limit}`, full: isExhausted(e.server_used, e.server_limit) },
    ...e.roles.map((r) => ({ text: `role ${r.name} ${r.used}/${r.role_limit}`, full: isExhausted(r.used, r.role_limit) })),
  ];
  return parts
    .filter((p) => !onlyExhausted || p.full)
    .map((p) => p.text)
    .join(', ');
}

const anyExhausted = (e: Exhaustion): boolean =>
  (e.db_limit > 0 && isExhausted(e.db_used, e.db_limit)) ||
  isExhausted(e.server_used, e.server_limit) ||
  e.roles.some((r) => isExhausted(r.used, r.role_limit));

const sqlLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export const terminateIdleSessions = defineAction({
  name: 'postgres.terminate_idle_sessions',
  description:
    'While the connections a database needs are exhausted, ends its ordinary sessions idle (in a transaction or not) for longer than N seconds.',
  params: z.strictObject({
    older_than_s: z.number().int().min(1),
    max_sessions: z.number().int().min(1).max(100).default(50),
  }),
  // What Postgres's own idle_session_timeout does, and only while the limit is taken: a pooled
  // client reconnects when it next needs to. An idle session can still hold session-level state
  // (advisory locks, temp tables) its client expects to find, so more than max_sessions asks a human.
  risk: 'LOW',
  blastRadius:
    'the idle sessions of one database past the threshold (at most max_sessions), only while its connection limits are exhausted',
  timeoutMs: 15_000,
  commands: ({ older_than_s }, ctx) => {
    const named = maintenanceTarget(ctx.targets.postgres ?? '', MAINTENANCE_DATABASE)?.database;
    return [
      {
        language: 'sql',
        text: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${named ? sqlLiteral(named) : 'current_database()'} AND backend_type = 'client backend' AND state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)') AND state_change < now() - interval '${older_than_s} seconds' AND pid <> pg_backend_pid() -- not superuser or replication roles; only while a connection limit (database, server, or role) is at least 90% taken; none at all when more than max_sessions match`,
      },
    ];
  },
  async preconditions({ older_than_s, max_sessions }, ctx) {
    return withDatabase(ctx, 15_000, async (client, target) => {
      const found = await readExhaustion(client, target.name, older_than_s);
      if (!found) return [`database ${target.name} does not exist on this server`];
      if (!anyExhausted(found)) {
        return [
          `connections are not exhausted now (${describeUsage(target.name, found, false)}): ending idle sessions would not free anything needed`,
        ];
      }
      if (found.pids.length === 0) {
        return [
          `connections are exhausted (${describeUsage(target.name, found, true)}), but no ordinary session of ${target.name} that may be ended has been idle for longer than ${older_than_s}s`,
        ];
      }
      if (found.pids.length > max_sessions)
        return [`${found.pids.length} sessions match, more than max_sessions (${max_sessions}): a human should look`];
      return [];
    });
  },
  dryRun: async ({ older_than_s }, ctx) =>
    withDatabase(ctx, 15_000, async (client, target) => {
      const found = await readExhaustion(client, target.name, older_than_s);
      const why = found ? describeUsage(target.name, found, true) || 'nothing is exhausted now' : 'the database was not found';
      return `would terminate ${found?.pids.length ?? 0} session(s) of ${target.name} idle for over ${older_than_s}s while connections are exhausted (${why}): pids ${found?.pids.join(', ') || 'none'}${target.route}`;
    }),
  run: async ({ older_than_s, max_sessions }, ctx): Promise<ActionResult> =>
    withDatabase(ctx, 15_000, async (client, target) => {
      // Exhaustion, idleness and the count are checked again in the statement that signals: a
      // session that woke up, or limits that eased, since the preconditions ran leave the sessions
      // alone, and more matching sessions than max_sessions (after a slow approval) end none.
      const { rows } = await client.query<{ pid: number; done: boolean }>(
        `${exhaustionCte}
         SELECT pid, pg_terminate_backend(pid) AS done
           FROM (SELECT pid FROM candidates WHERE (SELECT count(*) FROM candidates) <= $3 ORDER BY state_change) chosen`,
        [target.name, older_than_s, max_sessions],
      );
      const signalled = rows.filter((r) => r.done).map((r) => r.pid);
      if (signalled.length === 0) {
        const now = await readExhaustion(client, target.name, older_than_s);
        const why =
          now && now.pids.length > max_sessions
            ? `${now.pids.length} sessions match now, more than max_sessions (${max_sessions}): none was ended, a human should look`
            : `no session of ${target.name} idle for over ${older_than_s}s was left to terminate while connections were exhausted`;
        return { status: 'failed', summary: `${why}${target.route}` };
      }
      // Signalled is not gone: the slots are free only once the sessions have left.
      let remaining = signalled;
      for (let i = 0; i < 40 && remaining.length > 0; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
        const left = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND datname = $2', [
          remaining,
          target.name,
        ]);
        remaining = left.rows.map((r) => r.pid);
      }
      const ended = signalled.filter((pid) => !remaining.includes(pid));
      if (ended.length === 0) {
        return { status: 'failed', summary: `signalled pids ${signalled.join(', ')} of ${target.name}, but none has ended${target.route}` };
      }
      return {
        status: 'succeeded',
        summary: `terminated ${ended.length} session(s) of ${target.name} idle for over ${older_than_s}s: pids ${ended.join(', ')}${remaining.length > 0 ? `; still ending: pids ${remaining.join(', ')}` : ''}${target.route}`,
      };
    }),
});
