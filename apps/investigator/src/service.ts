import { fileURLToPath } from 'node:url';
import { createMemoryInbox, type Bus, type ConsumeOptions } from '@vigil/bus';
import type { ServiceCatalog } from '@vigil/catalog';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { startTicker, type Logger } from '@vigil/platform';
import type { Registry } from 'prom-client';
import type { ClericIdentity } from './domain/cleric.js';
import { createInvestigator } from './investigator.js';
import type { ProbeSettings } from './probes/run-probes.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export interface InvestigatorWiring {
  bus: Bus;
  db: Db;
  catalog: ServiceCatalog;
  probes: ProbeSettings;
  cleric: ClericIdentity;
  log: Logger;
  registry?: Registry;
  clock?: () => Date;
}

/**
 * Wiring only: migrations, the consumer, and the timer that answers investigations whose wait
 * for Cleric ran out (polled from the database, so it survives restarts and runs safely in
 * every copy).
 */
export async function buildInvestigator(deps: InvestigatorWiring, options: { concurrency: number; tickMs: number }) {
  await migrate(deps.db, await loadMigrations(migrationsDir));
  const investigator = createInvestigator(deps);
  const consumer: Omit<ConsumeOptions, 'durable'> = {
    concurrency: options.concurrency,
    // The handlers are idempotent by their own records (one investigation per incident, one
    // note per note id); the inbox only spares repeated probe runs.
    inbox: createMemoryInbox(),
    handlers: investigator.handlers,
  };
  const timer = startTicker({
    intervalMs: options.tickMs,
    round: investigator.answerDue,
    log: deps.log,
    failure: 'due investigations not answered; will retry',
    waitFirst: true,
  });
  return {
    consumer,
    answerDue: investigator.answerDue,
    timer: {
      name: 'cleric-wait timer',
      close: timer.stop,
    },
  };
}
