import pg from 'pg';
import { describeTarget } from '@vigil/catalog';
import type { PostgresStats, SessionRow } from '../domain/postgres-assessment.js';

/**
 * Reads `pg_stat_activity` (with `pg_blocking_pids`) and the connection limits. Read-only by
 * construction: the session is `default_transaction_read_only`, every statement has a timeout,
 * and the role needs no more than `pg_monitor` (to see other users' queries).
 */
export async function readPostgresStats(dsn: string, timeoutMs: number): Promise<PostgresStats> {
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
    const limits = await client.query<{ database: string; max_connections: number; reserved: number; datconnlimit: number }>(
      `SELECT current_database() AS database,
              (SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS datconnlimit,
              current_setting('max_connections')::int AS max_connections,
              current_setting('superuser_reserved_connections')::int
                + coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int AS reserved`,
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
    return {
      database: limit.database,
      maxConnections: limit.max_connections,
      reservedConnections: limit.reserved,
      databaseConnectionLimit: limit.datconnlimit,
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
