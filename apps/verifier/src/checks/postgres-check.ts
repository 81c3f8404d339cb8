import pg from 'pg';
import { databaseOf, describeTarget, TOO_MANY_CONNECTIONS } from '@vigil/catalog';
import type { VerificationCheck } from '@vigil/events';
import type { Attempt } from '../domain/verdict.js';

export type PostgresCheck = Extract<VerificationCheck, { kind: 'postgres' }>;

export interface PostgresCheckOptions {
  /** The service's read-only probe DSN (the catalog's `postgres:`; a role granted pg_monitor). */
  dsn: string;
  /** Connect, statement and query timeout. */
  timeoutMs: number;
}

/** Share of the tightest connection limit at or over which `accepts_connections` fails. */
export const connectionSaturation = 0.9;

/** Sessions idle in a transaction listed in a failure's excerpt (the count says how many in all). */
const maxListed = 10;

/**
 * The state of the service's database, read over one short read-only connection (the session is
 * `default_transaction_read_only`, every statement has a timeout). Every failure is the service's:
 * a database that refuses or does not answer is what the service sees too. The probe's own session
 * is never counted.
 */
export async function runPostgresCheck(check: PostgresCheck, options: PostgresCheckOptions): Promise<Attempt> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (error: string, excerpt?: string): Attempt => ({
    check: check.name,
    passed: false,
    latencyMs: elapsed(),
    failure: { blame: 'service', check: check.name, error, ...(excerpt ? { excerpt } : {}) },
  });
  const inconclusive = (error: string): Attempt => ({
    check: check.name,
    passed: false,
    latencyMs: elapsed(),
    failure: { blame: 'verifier', check: check.name, error },
  });
  const olderThanS = check.olderThanS;
  const client = new pg.Client({
    connectionString: options.dsn,
    application_name: 'vigil-verifier',
    connectionTimeoutMillis: options.timeoutMs,
    statement_timeout: options.timeoutMs,
    query_timeout: options.timeoutMs,
    options: '-c default_transaction_read_only=on',
  });
  // A connection that breaks mid-check must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    try {
      await client.connect();
    } catch (error) {
      const database = databaseOf(options.dsn);
      if (codeOf(error) === TOO_MANY_CONNECTIONS) return fail(`database ${database} refused a new connection: ${messageOf(error)}`);
      const message = `cannot connect to database ${database} (${describeTarget(options.dsn)}): ${messageOf(error)}`;
      // A wrong password, a database that does not exist or a role refused by the server is the
      // verifier's own setup, not the service's state: it proves nothing either way.
      return setupError(error) ? inconclusive(message) : fail(message);
    }
    // A role that cannot see other sessions' state (pg_read_all_stats, in pg_monitor) would find
    // nothing wrong anywhere: it cannot decide, so it says nothing, and never "passed".
    const { rows } = await client.query<{ sees: boolean }>(`SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees`);
    if (!rows[0]?.sees) {
      return inconclusive(
        `the verifier's role for ${databaseOf(options.dsn)} cannot see other sessions' state: grant it pg_monitor (or pg_read_all_stats)`,
      );
    }
    const problem = check.expect === 'no_idle_in_transaction' ? await idleInTransaction(client, olderThanS) : await saturation(client);
    return problem ? fail(problem.error, problem.excerpt) : { check: check.name, passed: true, latencyMs: elapsed() };
  } catch (error) {
    return fail(`reading database ${databaseOf(options.dsn)} (${describeTarget(options.dsn)}) failed: ${messageOf(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Problem {
  error: string;
  excerpt?: string;
}

/** Ordinary sessions of this database idle in a transaction since longer than `olderThanS`, oldest first. */
async function idleInTransaction(client: pg.Client, olderThanS: number): Promise<Problem | undefined> {
  const { rows } = await client.query<{ database: string; pid: number; usename: string | null; application_name: string; idle_s: number }>(
    `SELECT current_database() AS database, pid, usename, application_name,
            extract(epoch FROM clock_timestamp() - state_change)::float8 AS idle_s
       FROM pg_stat_activity
      WHERE datname = current_database()
        AND backend_type = 'client backend'
        AND state IN ('idle in transaction', 'idle in transaction (aborted)')
        AND pid <> pg_backend_pid()
        AND state_change < clock_timestamp() - make_interval(secs => $1)
      ORDER BY state_change`,
    [olderThanS],
  );
  const oldest = rows[0];
  if (!oldest) return undefined;
  const sessions = rows.length === 1 ? '1 session' : `${rows.length} sessions`;
  return {
    error: `${sessions} idle in a transaction for over ${olderThanS}s in database ${oldest.database} (oldest pid ${oldest.pid}, ${seconds(oldest.idle_s)})`,
    excerpt: rows
      .slice(0, maxListed)
      .map((r) => `pid ${r.pid} (${r.usename ?? '?'}, ${r.application_name || 'no application_name'}) ${seconds(r.idle_s)}`)
      .join('; '),
  };
}

interface Limit {
  scope: string;
  used: number;
  limit: number;
}

/**
 * The connection limits that apply to this database's sessions, as Postgres enforces them: the
 * server's usable slots (client backends server-wide), the database's CONNECTION LIMIT (client
 * backends of this database), and the CONNECTION LIMIT of each non-superuser role with sessions
 * here (its client backends in every database). Superusers are exempt from the last two, so
 * superuser roles are not listed.
 */
async function saturation(client: pg.Client): Promise<Problem | undefined> {
  const { rows } = await client.query<{ database: string; limits: Limit[] }>(
    `WITH clients AS (
       SELECT datname, usesysid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
     )
     SELECT current_database() AS database,
            json_build_array(
              json_build_object('scope', 'server', 'used', (SELECT count(*) FROM clients),
                'limit', current_setting('max_connections')::int
                         - current_setting('superuser_reserved_connections')::int
                         - coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int),
              json_build_object('scope', 'database ' || d.datname,
                'used', (SELECT count(*) FROM clients c WHERE c.datname = d.datname), 'limit', d.datconnlimit)
            )::jsonb
            || coalesce((SELECT jsonb_agg(jsonb_build_object('scope', 'role ' || r.rolname,
                           'used', (SELECT count(*) FROM clients c WHERE c.usesysid = r.oid), 'limit', r.rolconnlimit))
                           FROM pg_roles r
                          WHERE r.rolconnlimit > 0 AND NOT r.rolsuper
                            AND EXISTS (SELECT 1 FROM clients c WHERE c.usesysid = r.oid AND c.datname = d.datname)), '[]'::jsonb)
            AS limits
       FROM pg_database d
      WHERE d.datname = current_database()`,
  );
  const row = rows[0];
  if (!row) throw new Error('the server did not describe the current database');
  // A limit of 0 (-1: none) closes a database or role on purpose, to drain it: not a limit its
  // sessions exhaust, and nothing ending sessions could free.
  const tightest = row.limits
    .filter((l) => l.limit > 0)
    .map((l) => ({ ...l, ratio: l.used / l.limit }))
    .sort((a, b) => b.ratio - a.ratio)[0];
  if (!tightest || tightest.ratio < connectionSaturation) return undefined;
  return {
    error: `${tightest.scope}: ${tightest.used}/${tightest.limit} connections in use (${Math.round(connectionSaturation * 100)}% or more taken)`,
  };
}

function seconds(value: number): string {
  return value < 10 ? `${value.toFixed(1)}s` : `${Math.round(value)}s`;
}

/** Authentication (28…), no such database (3D000) or no permission (42501): the verifier's configuration. */
function setupError(error: unknown): boolean {
  const code = codeOf(error);
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000' || code === '42501');
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** The driver's message, with any credentials in a URL it quotes masked. */
function messageOf(error: unknown): string {
  // Node reports a refused connection to every address of a name (localhost) as an AggregateError without a message.
  const first = error instanceof AggregateError ? (error.errors[0] as unknown) : undefined;
  const text = first instanceof Error ? first.message : error instanceof Error ? error.message || error.name : String(error);
  const code = codeOf(error);
  const masked = text.replace(/(\w+:\/\/[^\s:@/]*):[^\s@/]*@/g, '$1:***@') || 'unknown error';
  return typeof code === 'string' && /^[A-Z]+$/.test(code) && !masked.includes(code) ? `${code}: ${masked}` : masked;
}
