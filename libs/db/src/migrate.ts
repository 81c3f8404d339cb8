import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError } from '@vigil/errors';
import type { Db } from './port.js';

export interface Migration {
  /** Sort key and identity, e.g. `001_incidents` (the file name without `.sql`). */
  id: string;
  sql: string;
}

/** Tables every service's store has: the idempotency inbox. */
export const coreMigrations: readonly Migration[] = [
  {
    id: '000_vigil_inbox',
    sql: `CREATE TABLE vigil_inbox (
      consumer text NOT NULL,
      event_id text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    );`,
  },
];

/** Reads `*.sql` files of a directory, in name order. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => ({ id: f.replace(/\.sql$/, ''), sql: await readFile(join(dir, f), 'utf8') })));
}

const checksum = (sql: string): string => createHash('sha256').update(sql).digest('hex');

/**
 * Applies the migrations not yet recorded, in order, in one transaction under an advisory lock,
 * so copies starting together apply each exactly once. An applied migration whose text changed
 * stops start-up: history is never rewritten behind the database's back.
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  const all = [...coreMigrations, ...migrations];
  const ids = new Set<string>();
  for (const m of all) {
    if (ids.has(m.id)) throw new VigilError('MIGRATION_DUPLICATE', `migration ${m.id} is listed twice`);
    ids.add(m.id);
  }
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vigil_migrations:${db.schema}`]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS vigil_migrations (
      id text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ id: string; checksum: string }>('SELECT id, checksum FROM vigil_migrations');
    const applied = new Map(rows.map((r) => [r.id, r.checksum]));
    const done: string[] = [];
    for (const migration of [...all].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const sum = checksum(migration.sql);
      const previous = applied.get(migration.id);
      if (previous !== undefined) {
        if (previous !== sum) {
          throw new VigilError(
            'MIGRATION_CHANGED',
            `migration ${migration.id} was applied with different contents; add a new migration instead of editing it`,
          );
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO vigil_migrations (id, checksum) VALUES ($1, $2)', [migration.id, sum]);
      done.push(migration.id);
    }
    return done;
  });
}
