import pg from 'pg';
import { z } from 'zod';
import { describeTarget } from '@vigil/catalog';
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

/**
 * One short connection to the service's database as its operator role, with a statement timeout.
 * The role needs `pg_read_all_stats` (to see other sessions' state) and `pg_signal_backend` (to
 * cancel or end them) — never superuser: Postgres itself then refuses to touch a superuser's session.
 */
async function withDatabase<T>(ctx: ActionContext, timeoutMs: number, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const dsn = ctx.targets.postgres;
  if (!dsn) throw new Error(`${ctx.service} declares no executor.postgres target in the service catalog`);
  const client = new pg.Client({
    connectionString: dsn,
    application_name: 'vigil-executor',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    // The driver's messages can carry the DSN; name the target without its password.
    throw new Error(`${describeTarget(dsn)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sessionOf(client: pg.Client, pid: number): Promise<SessionInfo | undefined> {
  const { rows } = await client.query<SessionInfo>(
    `SELECT a.pid, a.usename, a.state, a.backend_type, left(a.query, 300) AS query,
            coalesce(r.rolsuper, false) AS superuser, coalesce(r.rolreplication, false) AS replication,
            extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_age_s, a.backend_start
       FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
      WHERE a.pid = $1 AND a.datname = current_database()`,
    [pid],
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
 * claim (a pid reused by a newer session never is) and, where the evidence recorded the
 * blocker's session start, exactly that one. The same condition sits in the signalling statement.
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
   AND ($3::text IS NULL OR backend_start = $3::timestamptz)`;

async function identityRefusals(client: pg.Client, pid: number, ctx: ActionContext): Promise<string[]> {
  const { rowCount } = await client.query(`SELECT 1 ${identitySql}`, [pid, ctx.claimedAt.toISOString(), namedStart(ctx)]);
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
      return withDatabase(ctx, timeoutMs, async (client) => {
        const own = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const problems = refusalsFor(await sessionOf(client, pid), pid, own.rows[0]?.pid ?? -1);
        return problems.length > 0 ? problems : identityRefusals(client, pid, ctx);
      });
    },
    dryRun: async ({ pid }, ctx) =>
      withDatabase(ctx, timeoutMs, async (client) => {
        const session = await sessionOf(client, pid);
        return `would run SELECT ${fn}(${pid}) on ${describeTarget(ctx.targets.postgres ?? '')}: ${session ? describe(session) : `pid ${pid} (not found now)`}`;
      }),
    run: async ({ pid }, ctx): Promise<ActionResult> =>
      withDatabase(ctx, timeoutMs, async (client) => {
        // Checked again right before the signal: the pid may have been reused since the preconditions.
        const before = await sessionOf(client, pid);
        const own = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const problems = refusalsFor(before, pid, own.rows[0]?.pid ?? -1);
        if (problems.length > 0) return { status: 'failed', summary: `not signalled: ${problems.join('; ')}` };
        // The signal goes only to the session that began before the claim (and, if the evidence
        // says when the blocker began, to exactly that one), checked in the same statement.
        const { rows } = await client.query<{ done: boolean }>(`SELECT ${fn}(pid) AS done ${identitySql}`, [
          pid,
          ctx.claimedAt.toISOString(),
          namedStart(ctx),
        ]);
        if (rows.length === 0) {
          const why = (await sessionOf(client, pid))
            ? (await identityRefusals(client, pid, ctx)).join('; ') || `pid ${pid} changed before the signal`
            : `pid ${pid} ended before it was signalled`;
          return { status: 'failed', summary: `not signalled: ${why}` };
        }
        if (!rows[0]?.done) return { status: 'failed', summary: `${fn}(${pid}) returned false: the session was not signalled` };
        if (kind === 'terminate') {
          // Signalled is not gone: wait (briefly) until the session has left.
          for (let i = 0; i < 40 && (await sessionOf(client, pid)); i += 1) await new Promise((r) => setTimeout(r, 50));
          if (await sessionOf(client, pid)) return { status: 'failed', summary: `pid ${pid} was signalled but has not ended` };
        }
        return {
          status: 'succeeded',
          summary: `${kind === 'cancel' ? 'cancelled the query of' : 'terminated'} ${before ? describe(before) : `pid ${pid}`}`,
        };
      }),
    // Whether a query was cancelled leaves no trace; whether a session ended does.
    ...(kind === 'terminate'
      ? {
          inspect: async ({ pid }: { pid: number }, ctx: ActionContext, since: Date): Promise<Inspection | undefined> =>
            withDatabase(ctx, timeoutMs, async (client): Promise<Inspection | undefined> => {
              const session = await sessionOf(client, pid);
              if (!session) return { done: true, summary: `pid ${pid} is no longer a session of this database: the session has ended` };
              // A pid is reused. Where the evidence recorded when the blocker began, that decides
              // exactly, on the target's own clock: the same start is the same session.
              const started = namedStart(ctx);
              if (started !== null) {
                const { rows } = await client.query<{ same: boolean; newer: boolean }>(
                  `SELECT backend_start = $2::timestamptz AS same, backend_start > $2::timestamptz AS newer
                   FROM pg_stat_activity WHERE pid = $1`,
                  [pid, started],
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
  WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
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
    return withDatabase(ctx, 15_000, async (client) => {
      const { rows } = await client.query<{ pid: number }>(idleSql, [older_than_s]);
      if (rows.length === 0) return [`no ordinary session is idle in a transaction for longer than ${older_than_s}s`];
      if (rows.length > max_sessions)
        return [`${rows.length} sessions match, more than max_sessions (${max_sessions}): a human should look`];
      return [];
    });
  },
  dryRun: async ({ older_than_s }, ctx) =>
    withDatabase(ctx, 15_000, async (client) => {
      const { rows } = await client.query<{ pid: number }>(idleSql, [older_than_s]);
      return `would terminate ${rows.length} session(s) idle in a transaction for over ${older_than_s}s: pids ${rows.map((r) => r.pid).join(', ') || 'none'}`;
    }),
  run: async ({ older_than_s, max_sessions }, ctx): Promise<ActionResult> =>
    withDatabase(ctx, 15_000, async (client) => {
      // The condition is checked again in the same statement: a session that woke up since the
      // preconditions ran is left alone.
      const { rows } = await client.query<{ pid: number; done: boolean }>(
        `SELECT pid, pg_terminate_backend(pid) AS done FROM (${idleSql} LIMIT $2) idle`,
        [older_than_s, max_sessions],
      );
      const ended = rows.filter((r) => r.done).map((r) => r.pid);
      return ended.length > 0
        ? {
            status: 'succeeded',
            summary: `terminated ${ended.length} session(s) idle in a transaction for over ${older_than_s}s: pids ${ended.join(', ')}`,
          }
        : { status: 'failed', summary: `no session idle in a transaction for over ${older_than_s}s was left to terminate` };
    }),
});
