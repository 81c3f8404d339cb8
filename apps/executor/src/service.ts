import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { createMemoryInbox, type Bus, type ConsumeOptions } from '@vigil/bus';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { startTicker } from '@vigil/platform';
import { approvalHandlers } from './approvals.js';
import { createExecutor, type ExecutorDeps } from './executor.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

/**
 * Wiring only: migrations, the consumer, and the sweeper that reports executions whose executor
 * died mid-action as unknown (polled from the database; safe in every copy).
 */
export async function buildExecutor(
  deps: Omit<ExecutorDeps, 'bus' | 'db' | 'registry'> & { bus: Bus; db: Db; registry?: Registry },
  options: { concurrency: number; sweepMs: number },
) {
  await migrate(deps.db, await loadMigrations(migrationsDir));
  const executor = createExecutor(deps);
  const consumer: Omit<ConsumeOptions, 'durable'> = {
    concurrency: options.concurrency,
    // Exactly-once lives in the executions table; the inbox only spares repeated lookups.
    inbox: createMemoryInbox(),
    handlers: { ...executor.handlers, ...approvalHandlers(deps.db) },
    // A step may run for minutes (a script, a Coder workspace); the bus keeps the delivery alive.
    maxHandlerMs: 30 * 60_000,
    // A command waiting for an approval decision this executor has not heard yet is retried for
    // about ten minutes before it is parked (never dropped).
    maxDeliver: 20,
    backoffMs: [1_000, 2_000, 5_000, 10_000, 30_000, 60_000],
  };
  const sweeper = startTicker({ intervalMs: options.sweepMs, round: executor.sweep, log: deps.log, failure: 'sweep failed; will retry' });
  return {
    consumer,
    sweep: executor.sweep,
    sweeper: { name: 'unknown-outcome sweeper', close: sweeper.stop },
  };
}
