import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { isVigilError } from '@vigil/errors';
import { dbContract } from './db.contract.js';
import { migrate } from './migrate.js';
import { createPostgresDb } from './postgres.js';
import type { Db } from './port.js';

dbContract('PostgreSQL', async () => {
  const url = await databaseUrl();
  const schema = uniqueName('db');
  const opened: Db[] = [];
  const open = async (): Promise<Db> => {
    const db = await createPostgresDb({ url, schema });
    opened.push(db);
    return db;
  };
  const db = await open();
  return {
    db,
    peer: open,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await Promise.all(opened.map((d) => d.close()));
    },
  };
});

it('copies starting together apply each migration exactly once', async () => {
  const url = await databaseUrl();
  const schema = uniqueName('mig');
  const copies = await Promise.all([1, 2, 3].map(() => createPostgresDb({ url, schema })));
  try {
    const migrations = [{ id: '001', sql: 'CREATE TABLE once_only (id int);' }];
    const applied = await Promise.all(copies.map((db) => migrate(db, migrations)));
    expect(applied.flat().filter((id) => id === '001')).toHaveLength(1);
  } finally {
    await copies[0]!.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all(copies.map((d) => d.close()));
  }
});

it('an unreachable server is a retryable DB_UNAVAILABLE naming the problem', async () => {
  const error = await createPostgresDb({ url: 'postgres://nobody@127.0.0.1:1/none' }).catch((e: unknown) => e);
  expect(isVigilError(error, 'DB_UNAVAILABLE')).toBe(true);
  expect((error as { retryable: boolean }).retryable).toBe(true);
});

it('refuses a schema name that is not a plain identifier', async () => {
  await expect(createPostgresDb({ url: await databaseUrl(), schema: 'x; DROP TABLE y' })).rejects.toThrow(/lower-case identifier/);
});

describe('prepared statements', () => {
  const lookup = 'SELECT id, body FROM prepared_notes WHERE id = $1';
  let url: string;
  let schema: string;
  let admin: Db;
  beforeEach(async () => {
    url = await databaseUrl();
    schema = uniqueName('prep');
    admin = await createPostgresDb({ url, schema });
    await admin.exec("CREATE TABLE prepared_notes (id int PRIMARY KEY, body text); INSERT INTO prepared_notes VALUES (1, 'one');");
  });
  afterEach(async () => {
    await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.close();
  });

  /** How many statements with this text the store's one connection holds prepared. */
  const preparedOn = async (db: Db, sql: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [sql]);
    return rows[0]!.n;
  };

  it('prepares a parameterised statement once per connection and reuses it', async () => {
    const db = await createPostgresDb({ url, schema, maxConnections: 1 });
    try {
      for (let i = 0; i < 3; i++) expect((await db.query(lookup, [1])).rows).toEqual([{ id: 1, body: 'one' }]);
      await db.transaction((tx) => tx.query(lookup, [1]));
      expect(await preparedOn(db, lookup)).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('prepares nothing when turned off (for PgBouncer in transaction mode)', async () => {
    const db = await createPostgresDb({ url, schema, maxConnections: 1, preparedStatements: false });
    try {
      expect((await db.query(lookup, [1])).rows).toEqual([{ id: 1, body: 'one' }]);
      expect(await preparedOn(db, lookup)).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('a table that changed shape under a prepared statement is read again, not refused forever', async () => {
    const db = await createPostgresDb({ url, schema, maxConnections: 1 });
    const all = 'SELECT * FROM prepared_notes WHERE id = $1';
    try {
      expect((await db.query(all, [1])).rows).toEqual([{ id: 1, body: 'one' }]);
      // A newer copy migrates: the prepared plan's result type no longer holds.
      await admin.exec("ALTER TABLE prepared_notes ADD COLUMN author text NOT NULL DEFAULT 'vigil'");
      expect((await db.query(all, [1])).rows).toEqual([{ id: 1, body: 'one', author: 'vigil' }]);

      await admin.exec('ALTER TABLE prepared_notes ADD COLUMN edited boolean NOT NULL DEFAULT false');
      // In a transaction the refusal aborts it; the caller's retry goes through.
      await expect(db.transaction((tx) => tx.query(all, [1]))).rejects.toThrow(/cached plan must not change result type/);
      const again = await db.transaction((tx) => tx.query(all, [1]));
      expect(again.rows).toEqual([{ id: 1, body: 'one', author: 'vigil', edited: false }]);
    } finally {
      await db.close();
    }
  });
});
