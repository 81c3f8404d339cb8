import pg from 'pg';
import { databaseOf, describeTarget, maintenanceTarget, TOO_MANY_CONNECTIONS } from '@vigil/catalog';
import type { PostgresRefusal, PostgresStats, SessionRow } from '../domain/postgres-assessment.js';

/** Whether a probe failed because Postgres refused its connection for a connection limit (the cause keeps the driver's error). */
const refusedForLimit = (error: unknown): boolean =>
  ((error as Error).cause as { code?: unknown } | undefined)?.code === TOO_MANY_CONNECTIONS;

/**
 * Reads `pg_stat_activity` (with `pg_blocking_pids`) and the connection limits. Read-only by
 * construction: the session is `default_transaction_read_only`, every statement has a timeout,
 * and the role needs no more than `pg_monitor` (to see other users' queries).
 *
 * A database whose connection limit is taken refuses the probe too — the very fault to explain.
 * Then the same server is read from its maintenance database (`pg_stat_activity` sees every
 * database), and the refusal is kept as evidence. When even that is refused (the server's own
 * slots are gone), the refusal alone is what the probe saw.
 */
export async function readPostgresStats(dsn: string, timeoutMs: number): Promise<PostgresStats | PostgresRefusal> {
  try {
    return await readStats(dsn, undefined, timeoutMs);
  } catch (error) {
    if (!refusedForLimit(error)) throw error;
    const refused = messageOf((error as Error).cause);
    const fallback = maintenanceTarget(dsn);
    if (!fallback) return { refused, database: databaseOf(dsn) };
    try {
      return { ...(await readStats(fallback.url, fallback.database, timeoutMs)), refused, readFrom: describeTarget(fallback.url) };
    } catch (second) {
      if (refusedForLimit(second)) return { refused, database: fallback.database };
      throw second;
    }
  }
}

/** The stats of `database` (default: the one connected to) read over `dsn`; errors name the target without secrets. */
async function readStats(dsn: string, database: string | undefined, timeoutMs: number): Promise<PostgresStats> {
  const client = new pg.Client({
    connectionString: dsn,
    application_name: 'vigil-investigator',
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    options: '-c default_transaction_read_only=on',
  });
  // A connection that breaks mid-probe must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const limits = await client.query<{
      database: string;
      max_connections: number;
      reserved: number;
      datconnlimit: number | null;
      role_limits: Array<{ role: string; limit: number; connections: number }> | null;
    }>(
      `WITH target AS (SELECT coalesce($1::text, current_database()) AS name)
       SELECT target.name AS database,
              (SELECT datconnlimit FROM pg_database WHERE datname = target.name) AS datconnlimit,
              current_setting('max_connections')::int AS max_connections,
              current_setting('superuser_reserved_connections')::int
                + coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int AS reserved,
              -- Roles with a CONNECTION LIMIT that have sessions here; a role's limit counts its
              -- sessions in every database (not this probe's own).
              (SELECT json_agg(json_build_object('role', r.rolname, 'limit', r.rolconnlimit, 'connections',
                        (SELECT count(*) FROM pg_stat_activity s
                          WHERE s.usesysid = r.oid AND s.backend_type = 'client backend' AND s.pid <> pg_backend_pid())))
                 FROM pg_roles r
                -- Superusers are exempt from role limits; a limit of 0 closes a role on purpose.
                WHERE r.rolconnlimit > 0 AND NOT r.rolsuper
                  AND EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.usesysid = r.oid AND s.datname = target.name)) AS role_limits
         FROM target`,
      [database ?? null],
    );
    const sessions = await client.query<{
      pid: number;
      datname: string | null;
      usename: string | null;
      application_name: string | null;
      backend_type: string | null;
      state: string | null;
      xact_age_s: number | null;
      state_age_s: number | null;
      wait_event_type: string | null;
      query: string | null;
      blocked_by: number[];
      superuser: boolean;
      backend_start: string | null;
    }>(
      `SELECT a.pid, a.datname, a.usename, a.application_name, a.backend_type, a.state,
              extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_age_s,
              extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_age_s,
              a.wait_event_type, left(a.query, 1000) AS query,
              pg_blocking_pids(a.pid) AS blocked_by,
              coalesce(r.rolsuper, false) AS superuser,
              -- To the microsecond, as text: the executor signals only exactly this session.
              to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS backend_start
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
        WHERE a.pid <> pg_backend_pid()`,
    );
    const limit = limits.rows[0];
    if (!limit) throw new Error('the server returned no settings');
    if (limit.datconnlimit === null) throw new Error(`the server has no database ${limit.database}`);
    return {
      database: limit.database,
      maxConnections: limit.max_connections,
      reservedConnections: limit.reserved,
      databaseConnectionLimit: limit.datconnlimit,
      roleConnectionLimits: limit.role_limits ?? [],
      sessions: sessions.rows.map((row): SessionRow => ({
        pid: row.pid,
        datname: row.datname,
        usename: row.usename,
        applicationName: row.application_name ?? '',
        backendType: row.backend_type ?? 'unknown',
        state: row.state,
        xactAgeS: row.xact_age_s,
        stateAgeS: row.state_age_s,
        waitEventType: row.wait_event_type,
        query: row.query ?? '',
        blockedBy: row.blocked_by ?? [],
        superuser: row.superuser,
        backendStart: row.backend_start,
      })),
    };
  } catch (error) {
    // The driver's message can quote the DSN; say what failed without it.
    throw new Error(`${describeTarget(dsn)}: ${messageOf(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\w+:\/\/[^\s@/]*:[^\s@/]*@/g, (m) => m.replace(/:[^:@]*@$/, ':***@')) || 'unknown error';
}
