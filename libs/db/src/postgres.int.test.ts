import { expect, it } from 'vitest';
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
