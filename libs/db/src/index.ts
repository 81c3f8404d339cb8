export { checkSchemaName, type Db, type Queryable, type QueryResult } from './port.js';
export { createPostgresDb, type PostgresOptions } from './postgres.js';
export { createPgliteDb, type PgliteOptions } from './pglite.js';
export { migrate, loadMigrations, coreMigrations, type Migration } from './migrate.js';
export { createDbInbox, type DbInbox } from './inbox.js';
export { openDb } from './open.js';
