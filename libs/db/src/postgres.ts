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
  /**
   * Prepare each parameterised statement once per connection (default true). Turn it off behind a
   * pooler that cannot keep prepared statements across transactions (PgBouncer in transaction
   * mode before 1.21).
   */
  preparedStatements?: boolean;
}

/** At most this many distinct statements are prepared; any beyond are sent unnamed, as before. */
const MAX_PREPARED = 500;

/**
 * Names for the statements a store prepares. Each parameterised statement is parsed and planned
 * once per connection instead of on every call, which is most of the server's work for the short
 * statements Vigil sends.
 */
class StatementNames {
  readonly #names = new Map<string, string>();
  #next = 0;

  nameOf(sql: string): string | undefined {
    let name = this.#names.get(sql);
    if (name === undefined && this.#names.size < MAX_PREPARED) {
      name = `vigil_${this.#next++}`;
      this.#names.set(sql, name);
    }
    return name;
  }

  /**
   * A table this statement reads changed shape (a migration by a newer copy): the server refuses
   * the prepared plan ("cached plan must not change result type") on every connection that holds
   * it. Under a new name the statement is prepared afresh.
   */
  renew(sql: string): void {
    this.#names.delete(sql);
  }
}

const isStalePlan = (error: unknown): boolean =>
  (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test((error as Error).message);

function wrap(client: pg.Pool | pg.PoolClient, names: StatementNames | undefined, inTransaction: boolean): Queryable {
  const send = (sql: string, params: readonly unknown[] | undefined) => {
    const name = params && params.length > 0 ? names?.nameOf(sql) : undefined;
    return name === undefined
      ? client.query(sql, params as unknown[] | undefined)
      : client.query({ name, text: sql, values: params as unknown[] });
  };
  return {
    async query<R extends object>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      let result: pg.QueryResult;
      try {
        result = await send(sql, params);
      } catch (error) {
        if (!names || !isStalePlan(error)) throw error;
        names.renew(sql);
        // In a transaction the error has aborted it: the caller's retry prepares it anew.
        if (inTransaction) throw error;
        result = await send(sql, params);
      }
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
  const names = options.preparedStatements === false ? undefined : new StatementNames();
  const root = wrap(pool, names, false);
  return {
    kind: 'postgres',
    schema,
    query: root.query,
    exec: root.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client, names, true));
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
