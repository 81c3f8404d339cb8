import { PGlite } from '@electric-sql/pglite';
import { catalogue, checkoutSql, missingOrder, probeSql, schemaSql, StoreError, type Order, type OrdersStore } from './store.js';

/**
 * The embedded store: Postgres in WASM inside this process. It has one connection and runs one
 * transaction at a time, and nothing outside the process can reach it — so the row-lock and
 * connection faults of `vigil chaos` need real PostgreSQL (PAYMENT_DATABASE_URL).
 */
export async function createPgliteStore(options: { dataDir?: string | undefined }): Promise<OrdersStore> {
  const db = options.dataDir === undefined ? new PGlite() : new PGlite(options.dataDir);
  await db.waitReady;
  await db.exec(schemaSql);
  const failure = (error: unknown): StoreError =>
    error instanceof StoreError ? error : new StoreError('unavailable', `PGlite: ${(error as Error).message}`, { cause: error });
  return {
    kind: 'pglite',
    async probe() {
      try {
        await db.transaction(async (tx) => {
          const { rows } = await tx.query(probeSql);
          if (rows.length === 0) throw missingOrder();
          await tx.rollback();
        });
      } catch (error) {
        throw failure(error);
      }
    },
    async checkout(item, quantity) {
      try {
        const { rows } = await db.query<Order>(checkoutSql, [item, quantity, catalogue[item] * quantity]);
        const order = rows[0];
        if (!order) throw missingOrder();
        return order;
      } catch (error) {
        throw failure(error);
      }
    },
    pool: () => ({ max: 1, total: 1, idle: 1, waiting: 0 }),
    close: () => db.close(),
  };
}
