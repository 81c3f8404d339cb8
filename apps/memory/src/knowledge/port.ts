import type { ContextMatch } from '@vigil/events';
import type { Runbook } from '../domain/runbook.js';

/** What memory asks a knowledge source: the hypothesis text and the incident's service and alert. */
export interface KnowledgeQuery {
  query: string;
  service?: string;
  alertName?: string;
  /** At most this many matches. */
  limit: number;
  /** Aborted when the source's deadline passes; a source must stop its request then. */
  signal: AbortSignal;
}

/**
 * An external knowledge base (Sanity, Senso) beside memory's own Postgres search. Matches cite the
 * vendor's document (`uri` where the vendor has one), carry a score normalised to [0, 1] and a
 * trimmed passage. A failure throws a `VigilError` whose code is one of `KnowledgeFailure`'s.
 */
export interface KnowledgeSource {
  /** Short and stable: the metric label and the log field (`sanity`, `senso`). */
  readonly name: string;
  search(query: KnowledgeQuery): Promise<ContextMatch[]>;
  /** Pushes a runbook's text to the vendor, for sources that index what they are given. */
  ingest?(runbook: Runbook, signal: AbortSignal): Promise<void>;
}

/** Why a source did not answer; the `outcome` label of the source metrics. */
export const knowledgeFailures = {
  KNOWLEDGE_SOURCE_TIMEOUT: 'timeout',
  KNOWLEDGE_SOURCE_UNAUTHORIZED: 'unauthorized',
  KNOWLEDGE_SOURCE_RATE_LIMITED: 'rate_limited',
  KNOWLEDGE_SOURCE_UNAVAILABLE: 'unavailable',
  KNOWLEDGE_SOURCE_REJECTED: 'rejected',
  KNOWLEDGE_SOURCE_INVALID_RESPONSE: 'invalid_response',
} as const;
export type KnowledgeFailureCode = keyof typeof knowledgeFailures;

/** The failure code for an HTTP status from a vendor. */
export function failureForStatus(status: number): KnowledgeFailureCode {
  if (status === 401 || status === 403) return 'KNOWLEDGE_SOURCE_UNAUTHORIZED';
  if (status === 429) return 'KNOWLEDGE_SOURCE_RATE_LIMITED';
  if (status === 408 || status >= 500) return 'KNOWLEDGE_SOURCE_UNAVAILABLE';
  return 'KNOWLEDGE_SOURCE_REJECTED';
}
