import { afterEach, expect, it } from 'vitest';
import { createEvent, exampleData } from '@vigil/events';
import { MemoryBus } from '@vigil/bus';
import { createDbInbox, createPgliteDb, createPostgresDb, migrate, type Db } from '@vigil/db';
import { databaseUrl, eventually, uniqueName } from '@vigil/testing';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function consumeWithDbInbox(db: Db): Promise<void> {
  await migrate(db, [{ id: '001', sql: 'CREATE TABLE effects (event_id text)' }]);
  const bus = new MemoryBus();
  closers.push(() => bus.close());
  await bus.consume({
    durable: 'writer',
    concurrency: 8,
    inbox: createDbInbox(db),
    // The handler writes to the same store the inbox uses, as a real service's handler does.
    handlers: { 'incident.triggered': async (e) => void (await db.query('INSERT INTO effects VALUES ($1)', [e.id])) },
  });
  const events = Array.from({ length: 12 }, (_, i) =>
    createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: `k${i}` }, { source: 't' }),
  );
  for (const event of events) await bus.publish(event);
  // The inbox records an event just after its effect, so the last records may follow the last effect.
  const count = async (table: string) => (await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n as number;
  await eventually(async () => (await count('vigil_inbox')) === 12, { message: 'every event recorded in the inbox' });
  expect(await count('effects')).toBe(12);
}

it('the store inbox under concurrent handlers that use the same PGlite store: no deadlock', async () => {
  const db = await createPgliteDb({ schema: 'inbox_test' });
  closers.push(() => db.close());
  await consumeWithDbInbox(db);
});

it('the store inbox under more concurrent handlers than pool connections on PostgreSQL: no exhaustion', async () => {
  const schema = uniqueName('inbox');
  const db = await createPostgresDb({ url: await databaseUrl(), schema, maxConnections: 3 });
  closers.push(() => db.close());
  closers.push(() => db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  await consumeWithDbInbox(db);
});
