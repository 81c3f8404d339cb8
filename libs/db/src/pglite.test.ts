import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { dbContract } from './db.contract.js';
import { migrate } from './migrate.js';
import { createPgliteDb } from './pglite.js';
import { createPgliteThreadDb } from './pglite-thread.js';

dbContract('PGlite', async () => {
  const db = await createPgliteDb({ schema: 'vigil' });
  return { db, cleanup: () => db.close() };
});

dbContract('PGlite on its own thread', async () => {
  const db = await createPgliteThreadDb({ schema: 'vigil' });
  return { db, cleanup: () => db.close() };
});

it.each([
  ["on the caller's thread", createPgliteDb],
  ['on its own thread', createPgliteThreadDb],
])('PGlite %s keeps its data in a directory across restarts', async (_where, createPgliteDb) => {
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

it("PGlite on its own thread: Postgres's error fields come through, and a failed statement spoils no later one", async () => {
  const db = await createPgliteThreadDb({ schema: 'vigil' });
  try {
    await db.exec('CREATE TABLE uniq (k text PRIMARY KEY)');
    await db.query('INSERT INTO uniq VALUES ($1)', ['a']);
    await expect(db.query('INSERT INTO uniq VALUES ($1)', ['a'])).rejects.toMatchObject({ code: '23505', constraint: 'uniq_pkey' });
    // Rolled back inside a transaction: nothing of it stays, and the store goes on.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO uniq VALUES ($1)', ['b']);
        await tx.query('INSERT INTO uniq VALUES ($1)', ['a']);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await db.query<{ k: string }>('SELECT k FROM uniq ORDER BY k')).rows).toEqual([{ k: 'a' }]);
    // Values keep their types across the thread: dates, JSON, bytes.
    const { rows } = await db.query<{ at: Date; doc: { n: number }; bytes: Uint8Array }>(
      "SELECT '2026-11-23T00:00:00Z'::timestamptz AS at, '{\"n\": 1}'::jsonb AS doc, '\\x0102'::bytea AS bytes",
    );
    expect(rows[0]!.at).toBeInstanceOf(Date);
    expect(rows[0]!.doc).toEqual({ n: 1 });
    expect([...rows[0]!.bytes]).toEqual([1, 2]);
  } finally {
    await db.close();
  }
  expect((await db.health()).ok).toBe(false);
  await expect(db.query('SELECT 1')).rejects.toThrow(/closed/);
});
