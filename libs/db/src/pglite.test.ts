import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { dbContract } from './db.contract.js';
import { migrate } from './migrate.js';
import { createPgliteDb } from './pglite.js';

dbContract('PGlite', async () => {
  const db = await createPgliteDb({ schema: 'vigil' });
  return { db, cleanup: () => db.close() };
});

it('PGlite keeps its data in a directory across restarts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pglite-'));
  try {
    const first = await createPgliteDb({ dataDir: dir, schema: 'vigil' });
    await migrate(first, [{ id: '001', sql: 'CREATE TABLE kept (v text);' }]);
    await first.query('INSERT INTO kept VALUES ($1)', ['still here']);
    await first.close();
    const second = await createPgliteDb({ dataDir: dir, schema: 'vigil' });
    expect(await migrate(second, [{ id: '001', sql: 'CREATE TABLE kept (v text);' }])).toEqual([]);
    expect((await second.query<{ v: string }>('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
    await second.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
