import { createPgliteDb } from './pglite.js';
import { createPgliteThreadDb } from './pglite-thread.js';
import { createPostgresDb } from './postgres.js';
import type { Db } from './port.js';

/** PostgreSQL when a URL is configured (DATABASE_URL), else the embedded PGlite store. */
export function openDb(options: {
  url?: string | undefined;
  dataDir?: string | undefined;
  schema?: string;
  /** PostgreSQL only: prepare each statement once per connection (default true). */
  preparedStatements?: boolean;
  /** PGlite only: run it on a worker thread of its own, beside the caller's event loop (default true). */
  pgliteThread?: boolean;
}): Promise<Db> {
  const schema = options.schema === undefined ? {} : { schema: options.schema };
  if (options.url) {
    const prepared = options.preparedStatements === undefined ? {} : { preparedStatements: options.preparedStatements };
    return createPostgresDb({ url: options.url, ...schema, ...prepared });
  }
  const pglite = { ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), ...schema };
  return options.pgliteThread === false ? createPgliteDb(pglite) : createPgliteThreadDb(pglite);
}
