import { createPgliteDb } from './pglite.js';
import { createPostgresDb } from './postgres.js';
import type { Db } from './port.js';

/** PostgreSQL when a URL is configured (DATABASE_URL), else the embedded PGlite store. */
export function openDb(options: {
  url?: string | undefined;
  dataDir?: string | undefined;
  schema?: string;
  /** PostgreSQL only: prepare each statement once per connection (default true). */
  preparedStatements?: boolean;
}): Promise<Db> {
  const schema = options.schema === undefined ? {} : { schema: options.schema };
  if (options.url) {
    const prepared = options.preparedStatements === undefined ? {} : { preparedStatements: options.preparedStatements };
    return createPostgresDb({ url: options.url, ...schema, ...prepared });
  }
  return createPgliteDb({ ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), ...schema });
}
