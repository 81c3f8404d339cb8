import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVigilError } from '@vigil/errors';
import { createDbInbox } from './inbox.js';
import { migrate, type Migration } from './migrate.js';
import type { Db, Queryable } from './port.js';

export interface DbHarness {
  db: Db;
  /** A second store on the same schema (a second process), where the adapter allows it. */
  peer?: () => Promise<Db>;
  cleanup(): Promise<void>;
}

const migrations: Migration[] = [
  { id: '001_notes', sql: 'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);' },
  { id: '002_notes_author', sql: "ALTER TABLE notes ADD COLUMN author text NOT NULL DEFAULT 'vigil';" },
];

/** The store contract: PostgreSQL and PGlite must behave the same. */
export function dbContract(name: string, makeHarness: () => Promise<DbHarness>): void {
  describe(`store contract: ${name}`, () => {
    let harness: DbHarness;
    let db: Db;
    beforeEach(async () => {
      harness = await makeHarness();
      db = harness.db;
    });
    afterEach(async () => harness.cleanup());

    it('applies migrations in order once, records them, and is idempotent', async () => {
      expect(await migrate(db, [migrations[1]!, migrations[0]!])).toEqual(['000_vigil_inbox', '001_notes', '002_notes_author']);
      expect(await migrate(db, migrations)).toEqual([]);
      await db.query('INSERT INTO notes (body) VALUES ($1)', ['hello']);
      const { rows } = await db.query<{ body: string; author: string }>('SELECT body, author FROM notes');
      expect(rows).toEqual([{ body: 'hello', author: 'vigil' }]);
      const applied = await db.query<{ id: string }>('SELECT id FROM vigil_migrations ORDER BY id');
      expect(applied.rows.map((r) => r.id)).toEqual(['000_vigil_inbox', '001_notes', '002_notes_author']);
    });

    it('refuses an applied migration whose text changed', async () => {
      await migrate(db, migrations);
      const edited = [{ ...migrations[0]!, sql: migrations[0]!.sql + ' -- edited' }, migrations[1]!];
      const error = await migrate(db, edited).catch((e: unknown) => e);
      expect(isVigilError(error, 'MIGRATION_CHANGED')).toBe(true);
      expect((error as Error).message).toContain('001_notes');
    });

    it('rolls back a failed migration whole', async () => {
      const broken = [...migrations, { id: '003_broken', sql: 'CREATE TABLE ok_table (id int); SELECT * FROM no_such_table;' }];
      await expect(migrate(db, broken)).rejects.toThrow(/no_such_table/);
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('ok_table', 'notes')",
        [db.schema],
      );
      expect(rows[0]?.n).toBe('0');
    });

    it('commits a transaction that resolves and rolls back one that throws', async () => {
      await migrate(db, migrations);
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO notes (body) VALUES ($1)', ['kept']);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO notes (body) VALUES ($1)', ['lost']);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const { rows } = await db.query<{ body: string }>('SELECT body FROM notes ORDER BY id');
      expect(rows.map((r) => r.body)).toEqual(['kept']);
    });

    it('inbox: runs an effect once per (consumer, event), again after a failure, and per consumer', async () => {
      await migrate(db, migrations);
      const inbox = createDbInbox(db);
      let runs = 0;
      const effect = async (): Promise<void> => void runs++;
      expect(await inbox.once('svc', 'e1', effect)).toEqual({ duplicate: false });
      expect(await inbox.once('svc', 'e1', effect)).toEqual({ duplicate: true });
      expect(await inbox.once('other', 'e1', effect)).toEqual({ duplicate: false });
      expect(runs).toBe(2);
      await expect(inbox.once('svc', 'e2', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await inbox.once('svc', 'e2', effect)).toEqual({ duplicate: false });
      expect(runs).toBe(3);
    });

    it('inbox: the effect commits or rolls back with the record', async () => {
      await migrate(db, migrations);
      const inbox = createDbInbox(db);
      await expect(
        inbox.onceInTransaction('svc', 'e1', async (tx) => {
          await tx.query('INSERT INTO notes (body) VALUES ($1)', ['half']);
          throw new Error('crash after write');
        }),
      ).rejects.toThrow('crash after write');
      const result = await inbox.onceInTransaction('svc', 'e1', async (tx) => {
        await tx.query('INSERT INTO notes (body) VALUES ($1)', ['whole']);
        return 'written';
      });
      expect(result).toEqual({ duplicate: false, value: 'written' });
      expect(await inbox.onceInTransaction('svc', 'e1', async () => 'again')).toEqual({ duplicate: true });
      const { rows } = await db.query<{ body: string }>('SELECT body FROM notes');
      expect(rows.map((r) => r.body)).toEqual(['whole']);
    });

    it('inbox: two copies racing on one event in a transaction run the effect once', async () => {
      await migrate(db, migrations);
      const other = harness.peer ? await harness.peer() : db;
      let runs = 0;
      const slowEffect = async (tx: Queryable): Promise<void> => {
        runs++;
        await tx.query('INSERT INTO notes (body) VALUES ($1)', ['raced']);
        await new Promise((r) => setTimeout(r, 50));
      };
      const results = await Promise.all([
        createDbInbox(db).onceInTransaction('svc', 'race', slowEffect),
        createDbInbox(other).onceInTransaction('svc', 'race', slowEffect),
      ]);
      expect(runs).toBe(1);
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
    });

    it('inbox: an effect may use the same store while it runs (no transaction is held)', async () => {
      await migrate(db, migrations);
      const inbox = createDbInbox(db);
      const result = await inbox.once('svc', 'nested', async () => {
        await db.query('INSERT INTO notes (body) VALUES ($1)', ['from the handler']);
      });
      expect(result).toEqual({ duplicate: false });
      expect((await db.query<{ body: string }>('SELECT body FROM notes')).rows).toEqual([{ body: 'from the handler' }]);
    });

    it('reports health', async () => {
      expect((await db.health()).ok).toBe(true);
    });
  });
}
