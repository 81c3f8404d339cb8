import { createPgliteDb, createPostgresDb } from '@vigil/db';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { learningContract } from './learning.contract.js';
import { memoryContract } from './memory-store.contract.js';

async function openPostgres() {
  const schema = uniqueName('memory');
  const db = await createPostgresDb({ url: await databaseUrl(), schema });
  return {
    db,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
}

async function openPglite() {
  const db = await createPgliteDb({ schema: 'memory' });
  return { db, cleanup: () => db.close() };
}

memoryContract('PostgreSQL', openPostgres);
memoryContract('PGlite', openPglite);
learningContract('PostgreSQL', openPostgres);
learningContract('PGlite', openPglite);
