import type { Db } from '@vigil/db';
import type { ContextMatch } from '@vigil/events';
import { searchIncidents } from './incident-store.js';
import { searchRunbooks, type SearchRequest } from './runbook-store.js';

/**
 * What `context.requested` and `POST /search` answer: runbooks and past incidents together, best
 * first. The limit applies to each kind, so past incidents never crowd the runbooks (which carry
 * the remedies a planner binds) out of the answer.
 */
export async function searchKnowledge(db: Db, request: SearchRequest, now: Date): Promise<ContextMatch[]> {
  const runbooks = await searchRunbooks(db, request);
  const incidents = await searchIncidents(db, request, now);
  // Stable: on a tie the runbook comes first.
  return [...runbooks, ...incidents].sort((a, b) => b.score - a.score);
}
