import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createMemoryInbox, type Bus, type BusLogger, type ConsumeOptions } from '@vigil/bus';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { parseRunbook, type Runbook } from './domain/runbook.js';
import { createContextRequestedHandler } from './handlers/context-requested.handler.js';
import { createIncidentResolvedHandler } from './handlers/incident-resolved.handler.js';
import { createIncidentTriggeredHandler } from './handlers/incident-triggered.handler.js';
import { incidentRoutes } from './http/incidents.routes.js';
import { runbookRoutes } from './http/runbooks.routes.js';
import type { KnowledgeSource } from './knowledge/port.js';
import { createRetrieval } from './knowledge/retrieval.js';
import { promotionRound, startPromotionTicker } from './promotion-ticker.js';
import { ingestRunbook, type IngestOutcome } from './runbook-store.js';
import { searchKnowledge } from './search.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));
/** The starter library shipped with Vigil. */
export const starterRunbooksDir = fileURLToPath(new URL('../runbooks/', import.meta.url));

/**
 * Ingests every `*.md` of a directory; one invalid runbook stops it with the file, field and reason.
 * `onStored` hears of each runbook with its outcome (memory pushes new and changed ones to Senso).
 */
export async function ingestDirectory(
  db: Db,
  dir: string,
  onStored?: (runbook: Runbook, outcome: IngestOutcome) => void,
): Promise<Record<string, IngestOutcome>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
  const outcomes: Record<string, IngestOutcome> = {};
  for (const file of files) {
    const parsed = parseRunbook(file, await readFile(join(dir, file), 'utf8'));
    if (!parsed.ok) throw new VigilError('RUNBOOK_INVALID', parsed.problems.join('\n'));
    outcomes[parsed.runbook.id] = await ingestRunbook(db, parsed.runbook);
    onStored?.(parsed.runbook, outcomes[parsed.runbook.id] as IngestOutcome);
  }
  return outcomes;
}

export interface MemoryDeps {
  bus: Bus;
  db: Db;
  /** The time stability windows are measured against; the system clock by default. */
  clock?: () => Date;
  /** External knowledge sources searched beside the local one (none by default). */
  knowledge?: { sources: readonly KnowledgeSource[]; timeoutMs: number };
  /** Where memory's own counters go (the service's /metrics registry). */
  registry?: Registry;
}

export interface MemoryOptions {
  concurrency: number;
  /** How long a fix must hold without a re-fire before it is proven. */
  stabilityWindowMs: number;
}

/** Wiring only: migrations, the consumer, the routes and the promotion ticker (started by the caller). */
export async function buildMemory(deps: MemoryDeps, options: MemoryOptions) {
  await migrate(deps.db, await loadMigrations(migrationsDir));
  const clock = deps.clock ?? (() => new Date());
  const { db, bus } = deps;
  const { stabilityWindowMs } = options;
  const promote = () => promotionRound(db, clock(), stabilityWindowMs);
  const retrieval = createRetrieval({
    local: (request) => searchKnowledge(db, request, clock()),
    sources: deps.knowledge?.sources ?? [],
    timeoutMs: deps.knowledge?.timeoutMs ?? 2_000,
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
  const consumer: Omit<ConsumeOptions, 'durable'> = {
    concurrency: options.concurrency,
    inbox: createMemoryInbox(),
    handlers: {
      'context.requested': createContextRequestedHandler({ bus, retrieval }),
      'incident.resolved': createIncidentResolvedHandler({ db, clock, stabilityWindowMs }),
      'incident.triggered': createIncidentTriggeredHandler({ db, clock }),
    },
  };
  return {
    consumer,
    routes: async (app: FastifyInstance) => {
      await runbookRoutes(db, clock)(app);
      await incidentRoutes(db, clock)(app);
    },
    /** Local search merged with the external knowledge sources; pushes runbooks to those that ingest. */
    retrieval,
    /** One promotion round now (what the ticker runs). */
    promote,
    /** Runs `promote` every `intervalMs` until stopped. */
    startPromotion: (ticker: { intervalMs: number; log: BusLogger }) => startPromotionTicker({ round: promote, ...ticker }),
  };
}
