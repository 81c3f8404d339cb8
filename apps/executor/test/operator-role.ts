import pg from 'pg';
import type { FaultDatabase } from '@vigil/testing';

/**
 * The executor's role on a fault database: may see sessions (pg_read_all_stats) and signal
 * ordinary backends (pg_signal_backend), nothing more. `drop` removes it.
 */
export async function createOperatorRole(fault: FaultDatabase): Promise<{ name: string; dsn: string; drop(): Promise<void> }> {
  const name = `${fault.name}_op`;
  const asAdmin = async (sql: string): Promise<void> => {
    const admin = new pg.Client({ connectionString: fault.dsn });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await asAdmin(`CREATE ROLE ${name} LOGIN; GRANT pg_signal_backend, pg_read_all_stats TO ${name}`);
  const dsn = new URL(fault.dsn);
  dsn.username = name;
  return { name, dsn: dsn.toString(), drop: () => asAdmin(`DROP ROLE IF EXISTS ${name}`) };
}
