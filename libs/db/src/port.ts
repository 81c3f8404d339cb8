/** Anything SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /** One statement, with `$1`-style parameters. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements, without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** The store port: PostgreSQL through `pg`, or PGlite (Postgres in WASM) embedded. */
export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** The schema every query runs in (tests and tenants get their own). */
  readonly schema: string;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  health(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Schema names are interpolated into SQL, so only plain lower-case identifiers are allowed. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`schema name "${schema}" must be a lower-case identifier (a-z, 0-9, _; at most 63 characters)`);
  }
  return schema;
}
