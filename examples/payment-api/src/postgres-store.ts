import pg from 'pg';
import { catalogue, checkoutSql, missingOrder, probeSql, schemaSql, StoreError, type Order, type OrdersStore } from './store.js';

export interface PostgresStoreOptions {
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
  healthLockTimeoutMs: number;
  checkoutLockTimeoutMs: number;
  onPoolError?: (error: Error) => void;
}

const pgCode = (error: unknown): string | undefined => (error as { code?: string }).code;

/**
 * A bounded pool, so its exhaustion is observable: a request waits `connectTimeoutMs` for a
 * connection, then fails as "pool exhausted" — whether our own pool is full or the server
 * refuses a new connection (a role's or database's CONNECTION LIMIT, max_connections).
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<OrdersStore> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'payment-api',
  });
  // An idle connection ended by the server (pg_terminate_backend, a restart) leaves the pool
  // with this event; without a listener it would crash the process.
  pool.on('error', (error) => options.onPoolError?.(error));

  function connectFailure(error: unknown): StoreError {
    const message = (error as Error).message;
    if (pgCode(error) === '53300') {
      return new StoreError('pool-exhausted', `pool exhausted: the database refused a new connection (${message})`, { cause: error });
    }
    if (/timeout exceeded when trying to connect/i.test(message)) {
      return pool.totalCount >= options.poolMax
        ? new StoreError(
            'pool-exhausted',
            `pool exhausted: all ${options.poolMax} connections busy for ${options.connectTimeoutMs} ms (${pool.waitingCount} requests waiting)`,
            { cause: error },
          )
        : new StoreError('unavailable', `connecting to PostgreSQL took longer than ${options.connectTimeoutMs} ms`, { cause: error });
    }
    return new StoreError('unavailable', `cannot connect to PostgreSQL: ${message}`, { cause: error });
  }

  function queryFailure(error: unknown, lockTimeoutMs: number): StoreError {
    const code = pgCode(error);
    if (error instanceof StoreError) return error;
    if (code === '55P03') {
      return new StoreError('lock-timeout', `lock timeout: order 1 stayed locked by another transaction for ${lockTimeoutMs} ms`, {
        cause: error,
      });
    }
    if (code === '57014') return new StoreError('statement-timeout', `statement timeout: ${(error as Error).message}`, { cause: error });
    return new StoreError('unavailable', `PostgreSQL: ${(error as Error).message}`, { cause: error });
  }

  /** One transaction on a pooled connection with its own lock timeout; committed only when `commit`. */
  async function inTransaction<T>(lockTimeoutMs: number, commit: boolean, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw connectFailure(error);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      // SET LOCAL: the timeout ends with the transaction, so the pooled connection keeps no setting.
      await client.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
      const result = await work(client);
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw queryFailure(error, lockTimeoutMs);
    } finally {
      // A connection that could not even roll back is dropped, not handed to the next request.
      client.release(broken);
    }
  }

  try {
    await pool.query(schemaSql);
  } catch (error) {
    // Copies starting together race on CREATE TABLE IF NOT EXISTS; losing that race is success.
    if (pgCode(error) !== '23505' && pgCode(error) !== '42P07') {
      await pool.end().catch(() => undefined);
      throw connectFailure(error);
    }
  }

  return {
    kind: 'postgres',
    probe: () =>
      inTransaction(options.healthLockTimeoutMs, false, async (client) => {
        const { rowCount } = await client.query(probeSql);
        if (rowCount === 0) throw missingOrder();
      }),
    checkout: (item, quantity) =>
      inTransaction(options.checkoutLockTimeoutMs, true, async (client) => {
        const { rows } = await client.query<Order>(checkoutSql, [item, quantity, catalogue[item] * quantity]);
        const order = rows[0];
        if (!order) throw missingOrder();
        return order;
      }),
    pool: () => ({ max: options.poolMax, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}
