import { createPgliteDb, createPostgresDb, loadMigrations, migrate, type Db } from '@vigil/db';
import { ingestDirectory, ingestRunbook, migrationsDir, starterRunbooksDir, type Runbook } from '@vigil/memory';

export type StoreKind = 'pglite' | 'postgres';

/** A memory store holding the starter library, on PGlite or in a fresh schema of real Postgres. */
export interface Library {
  db: Db;
  kind: StoreKind;
  /** Adds runbooks, then vacuums (as autovacuum would after a bulk load: GIN's pending list merged, statistics fresh). */
  add(runbooks: readonly Runbook[]): Promise<void>;
  close(): Promise<void>;
}

export async function openLibrary(kind: StoreKind, postgresUrl?: string): Promise<Library> {
  const schema = `bench_memory_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const db =
    kind === 'pglite'
      ? await createPgliteDb({ schema: 'memory' })
      : await createPostgresDb({ url: postgresUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema });
  await migrate(db, await loadMigrations(migrationsDir));
  await ingestDirectory(db, starterRunbooksDir);
  return {
    db,
    kind,
    async add(runbooks) {
      for (const runbook of runbooks) await ingestRunbook(db, runbook);
      await db.exec('VACUUM ANALYZE runbooks');
      await db.exec('VACUUM ANALYZE runbook_sections');
    },
    async close() {
      if (kind === 'postgres') await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
}
