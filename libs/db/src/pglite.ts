import { PGlite, type Transaction } from '@electric-sql/pglite';
import { checkSchemaName, type Db, type Queryable, type QueryResult } from './port.js';

export interface PgliteOptions {
  /** A directory to keep the data in; in memory when absent. */
  dataDir?: string;
  schema?: string;
}

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<R extends object>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const result = await target.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

/** The embedded store: real Postgres compiled to WASM, in memory or in a data directory. */
export async function createPgliteDb(options: PgliteOptions = {}): Promise<Db> {
  const schema = checkSchemaName(options.schema ?? 'public');
  const db = options.dataDir === undefined ? new PGlite() : new PGlite(options.dataDir);
  await db.waitReady;
  // One connection: setting the search path once applies to every later query.
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
  const root = wrap(db);
  return {
    kind: 'pglite',
    schema,
    query: root.query,
    exec: root.exec,
    // PGlite runs one transaction at a time and queues other queries behind it.
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    async health() {
      return db.closed ? { ok: false, detail: 'PGlite closed' } : { ok: true, detail: `PGlite ${options.dataDir ?? 'in memory'}` };
    },
    close: () => db.close(),
  };
}
