import { Counter, Registry } from 'prom-client';
import type { BusLogger } from '@vigil/bus';
import { VigilError, toVigilError } from '@vigil/errors';
import type { ContextMatch } from '@vigil/events';
import type { Runbook } from '../domain/runbook.js';
import { mergeMatches } from './merge.js';
import { knowledgeFailures, type KnowledgeSource } from './port.js';

export interface RetrievalRequest {
  query: string;
  service?: string;
  alertName?: string;
  limit: number;
}

export interface RetrievalDeps {
  /** Memory's own search (runbooks and past incidents): always runs; its failure is the request's. */
  local: (request: RetrievalRequest) => Promise<ContextMatch[]>;
  /** Configured external sources, queried beside it. */
  sources: readonly KnowledgeSource[];
  /** How long each external source may take before it is left out of the answer. */
  timeoutMs: number;
  /** Where the counters go (the service's /metrics registry). */
  registry?: Registry;
}

export interface Retrieval {
  search(request: RetrievalRequest, log: BusLogger): Promise<ContextMatch[]>;
  /** Pushes runbooks to every source that ingests; a failure is logged and counted, never thrown. */
  ingest(runbooks: readonly Runbook[], log: BusLogger): Promise<void>;
}

type Outcome = 'ok' | (typeof knowledgeFailures)[keyof typeof knowledgeFailures] | 'error';

const outcomeOf = (error: VigilError): Outcome =>
  error.code in knowledgeFailures ? knowledgeFailures[error.code as keyof typeof knowledgeFailures] : 'error';

function counter(registry: Registry, name: string, help: string): Counter<'source' | 'outcome'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'source' | 'outcome'>;
  return new Counter({ name, help, labelNames: ['source', 'outcome'], registers: [registry] });
}

/**
 * Runs `work` with an abort signal that fires after `timeoutMs`; settles by then even if the
 * work ignores its signal, so one slow vendor never holds the answer.
 */
async function withDeadline<T>(source: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new VigilError('KNOWLEDGE_SOURCE_TIMEOUT', `${source} did not answer within ${timeoutMs} ms`, { retryable: true });
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Retrieval across memory's own search and the configured external sources. The local search is
 * the default and always runs; external sources run in parallel with it, each under its own
 * deadline. A source that fails or times out is logged, counted and left out: retrieval never
 * fails because a vendor is down.
 */
export function createRetrieval(deps: RetrievalDeps): Retrieval {
  const registry = deps.registry ?? new Registry();
  const queries = counter(
    registry,
    'vigil_knowledge_source_queries_total',
    'Searches of external knowledge sources, by source and outcome (ok, timeout, unauthorized, rate_limited, unavailable, rejected, invalid_response, error); every outcome but ok was left out of the answer.',
  );
  // Pushing a runbook is off the incident's path, so it may take longer than a search.
  const ingestTimeoutMs = Math.max(deps.timeoutMs, 30_000);
  const ingests = counter(
    registry,
    'vigil_knowledge_source_ingests_total',
    'Runbooks pushed to external knowledge sources, by source and outcome.',
  );

  const fromSource = async (source: KnowledgeSource, request: RetrievalRequest, log: BusLogger): Promise<ContextMatch[]> => {
    try {
      const matches = await withDeadline(source.name, deps.timeoutMs, (signal) =>
        source.search({
          query: request.query,
          limit: request.limit,
          signal,
          ...(request.service !== undefined ? { service: request.service } : {}),
          ...(request.alertName !== undefined ? { alertName: request.alertName } : {}),
        }),
      );
      queries.inc({ source: source.name, outcome: 'ok' });
      return matches;
    } catch (thrown) {
      const error = toVigilError(thrown);
      queries.inc({ source: source.name, outcome: outcomeOf(error) });
      log.warn({ source: source.name, code: error.code, reason: error.message }, 'knowledge source left out of the answer');
      return [];
    }
  };

  return {
    async search(request, log) {
      const [local, ...external] = await Promise.all([deps.local(request), ...deps.sources.map((s) => fromSource(s, request, log))]);
      return mergeMatches(local, external.flat(), request.limit);
    },

    async ingest(runbooks, log) {
      for (const source of deps.sources) {
        const push = source.ingest?.bind(source);
        if (!push) continue;
        let pushed = 0;
        for (const runbook of runbooks) {
          try {
            await withDeadline(source.name, ingestTimeoutMs, (signal) => push(runbook, signal));
            ingests.inc({ source: source.name, outcome: 'ok' });
            pushed++;
          } catch (thrown) {
            const error = toVigilError(thrown);
            ingests.inc({ source: source.name, outcome: outcomeOf(error) });
            log.warn({ source: source.name, runbook: runbook.id, code: error.code, reason: error.message }, 'runbook not pushed');
          }
        }
        log.info({ source: source.name, pushed, of: runbooks.length }, 'runbooks pushed to knowledge source');
      }
    },
  };
}
