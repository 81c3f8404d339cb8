import pg from 'pg';
import { VigilError } from '@vigil/errors';
import { checkSchemaName, type Db, type Queryable, type QueryResult } from './port.js';

export interface PostgresOptions {
  /** e.g. `postgres://vigil@127.0.0.1:5432/vigil` */
  url: string;
  schema?: string;
  /** Pool size. */
  maxConnections?: number;
  statementTimeoutMs?: number;
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R extends object>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const result = await client.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

/** A pooled PostgreSQL store whose connections all use `schema` (created if missing). */
export async function createPostgresDb(options: PostgresOptions): Promise<Db> {
  const schema = checkSchemaName(options.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    // Every connection starts in our schema; the name was checked above.
    options: `-c search_path=${schema} -c statement_timeout=${options.statementTimeoutMs ?? 30_000}`,
    connectionTimeoutMillis: 5000,
  });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new VigilError('DB_UNAVAILABLE', `cannot reach PostgreSQL: ${(error as Error).message}`, {
      retryable: true,
      retryAfterMs: 1000,
      cause: error,
    });
  }
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (error) {
    // Copies starting together race on IF NOT EXISTS; losing that race is success.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') {
      await pool.end().catch(() => undefined);
      throw new VigilError('DB_SETUP_FAILED', `cannot create schema ${schema}: ${(error as Error).message}`, { cause: error });
    }
  }
  const root = wrap(pool);
  return {
    kind: 'postgres',
    schema,
    query: root.query,
    exec: root.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async health() {
      try {
        await pool.query('SELECT 1');
        return { ok: true, detail: `PostgreSQL schema ${schema}` };
      } catch (error) {
        return { ok: false, detail: `PostgreSQL not answering: ${(error as Error).message}` };
      }
    },
    close: () => pool.end(),
  };
}
