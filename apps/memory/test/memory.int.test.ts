import { createPgliteDb, createPostgresDb } from '@vigil/db';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { memoryContract } from './memory-store.contract.js';

memoryContract('PostgreSQL', async () => {
  const schema = uniqueName('memory');
  const db = await createPostgresDb({ url: await databaseUrl(), schema });
  return {
    db,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
});

memoryContract('PGlite', async () => {
  const db = await createPgliteDb({ schema: 'memory' });
  return { db, cleanup: () => db.close() };
});
