import { createPgliteDb, createPostgresDb } from '@vigil/db';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { sagaStoreContract } from './saga-store.contract.js';

sagaStoreContract('PostgreSQL', async () => {
  const schema = uniqueName('saga');
  const db = await createPostgresDb({ url: await databaseUrl(), schema });
  return {
    db,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
});

sagaStoreContract('PGlite', async () => {
  const db = await createPgliteDb({ schema: 'saga' });
  return { db, cleanup: () => db.close() };
});
