import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryInbox, type Bus, type ConsumeOptions } from '@vigil/bus';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { VigilError } from '@vigil/errors';
import { parseRunbook } from './domain/runbook.js';
import { createContextRequestedHandler } from './handlers/context-requested.handler.js';
import { runbookRoutes } from './http/runbooks.routes.js';
import { ingestRunbook, type IngestOutcome } from './runbook-store.js';

export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));
/** The starter library shipped with Vigil. */
export const starterRunbooksDir = fileURLToPath(new URL('../runbooks/', import.meta.url));

/** Ingests every `*.md` of a directory; one invalid runbook stops it with the file, field and reason. */
export async function ingestDirectory(db: Db, dir: string): Promise<Record<string, IngestOutcome>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
  const outcomes: Record<string, IngestOutcome> = {};
  for (const file of files) {
    const parsed = parseRunbook(file, await readFile(join(dir, file), 'utf8'));
    if (!parsed.ok) throw new VigilError('RUNBOOK_INVALID', parsed.problems.join('\n'));
    outcomes[parsed.runbook.id] = await ingestRunbook(db, parsed.runbook);
  }
  return outcomes;
}

/** Wiring only: migrations, the consumer and the routes. */
export async function buildMemory(deps: { bus: Bus; db: Db }, options: { concurrency: number }) {
  await migrate(deps.db, await loadMigrations(migrationsDir));
  const consumer: Omit<ConsumeOptions, 'durable'> = {
    concurrency: options.concurrency,
    inbox: createMemoryInbox(),
    handlers: { 'context.requested': createContextRequestedHandler(deps) },
  };
  return { consumer, routes: runbookRoutes(deps.db) };
}
