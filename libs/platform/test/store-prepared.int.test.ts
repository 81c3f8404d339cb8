import { afterEach, expect, it } from 'vitest';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { loadConfig } from '../src/config.js';
import { infrastructureConfig, openStore } from '../src/infrastructure.js';

/**
 * DATABASE_PREPARED_STATEMENTS reaches the store: on by default, off (`false`) for PgBouncer in
 * transaction mode before 1.21, where a statement prepared on one server connection is missing on
 * the next.
 */
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const lookup = 'SELECT $1::int + 1 AS next';

async function preparedAfterUse(env: Record<string, string>): Promise<number> {
  const config = loadConfig(infrastructureConfig, { DATABASE_URL: await databaseUrl(), ...env });
  const schema = uniqueName('prep');
  const db = await openStore(config, { schema });
  closers.push(async () => {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });
  // One transaction: one connection, so the check sees the session the statement ran in.
  return db.transaction(async (tx) => {
    expect((await tx.query(lookup, [41])).rows).toEqual([{ next: 42 }]);
    const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [lookup]);
    return rows[0]!.n;
  });
}

it('prepares statements by default', async () => {
  expect(await preparedAfterUse({})).toBe(1);
});

it('DATABASE_PREPARED_STATEMENTS=false prepares none', async () => {
  expect(await preparedAfterUse({ DATABASE_PREPARED_STATEMENTS: 'false' })).toBe(0);
});

it("PGlite (no DATABASE_URL) runs on a thread of its own by default; DATABASE_PGLITE_THREAD=false keeps it on the caller's", async () => {
  for (const [env, detail] of [
    [{}, /own thread/],
    [{ DATABASE_PGLITE_THREAD: 'false' }, /^PGlite in memory$/],
  ] as const) {
    const db = await openStore(loadConfig(infrastructureConfig, env), { schema: 'vigil' });
    closers.push(() => db.close());
    expect((await db.query('SELECT 41 + 1 AS next')).rows).toEqual([{ next: 42 }]);
    expect((await db.health()).detail).toMatch(detail);
  }
});
