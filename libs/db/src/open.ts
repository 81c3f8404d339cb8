import { createPgliteDb } from './pglite.js';
import { createPostgresDb } from './postgres.js';
import type { Db } from './port.js';

/** PostgreSQL when a URL is configured (DATABASE_URL), else the embedded PGlite store. */
export function openDb(options: { url?: string | undefined; dataDir?: string | undefined; schema?: string }): Promise<Db> {
  const schema = options.schema === undefined ? {} : { schema: options.schema };
  if (options.url) return createPostgresDb({ url: options.url, ...schema });
  return createPgliteDb({ ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), ...schema });
}
