import pg from 'pg';
import { parseCatalog, type ServiceCatalog } from '@vigil/catalog';
import { loadParsers } from '@vigil/policy';
import { createFaultDatabase, type FaultDatabase } from '@vigil/testing';

/**
 * The executor's role on a fault database: may see sessions (pg_read_all_stats) and signal
 * ordinary backends (pg_signal_backend), nothing more. `drop` removes it.
 */
export interface OperatorRole {
  name: string;
  dsn: string;
  drop(): Promise<void>;
}

export async function createOperatorRole(fault: FaultDatabase): Promise<OperatorRole> {
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

/**
 * What the executor's tests act on: the policy's parsers loaded, a fault database and the
 * executor's role on it, both dropped by `cleanups`.
 */
export async function operatorTarget(cleanups: Array<() => Promise<unknown>>): Promise<{ fault: FaultDatabase; operator: OperatorRole }> {
  await loadParsers();
  const fault = await createFaultDatabase();
  cleanups.push(() => fault.drop());
  const operator = await createOperatorRole(fault);
  cleanups.push(() => operator.drop());
  return { fault, operator };
}

/** A catalog whose payment-api the executor reaches as `dsn` (the operator role). */
export const operatorCatalog = (dsn: string): ServiceCatalog =>
  parseCatalog(`services:\n  payment-api:\n    executor:\n      postgres: ${dsn}\n`, {});

/** Whether the session with this pid still exists, as the fault database's owner sees it. */
export async function sessionAlive(fault: FaultDatabase, pid: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: fault.dsn });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;
  } finally {
    await client.end();
  }
}
