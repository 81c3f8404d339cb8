import type { Db } from '@vigil/db';
import { searchKnowledge } from '@vigil/memory';
import { requestOf, type LabelledCase } from './labelled.js';

/** One ranked runbook: its id and, where the ranker gives one, its 0–1 score. */
export interface Ranked {
  id: string;
  score?: number;
}

/** Something that ranks runbooks for a labelled alert, best first. */
export type Ranker = (c: LabelledCase) => Promise<Ranked[]>;

/** Vigil's search, exactly as `context.requested` runs it (runbooks and past incidents; runbooks kept). */
export function vigilRanker(db: Db, now = new Date()): Ranker {
  return async (c) =>
    (await searchKnowledge(db, requestOf(c), now))
      .filter((m) => m.citation.kind === 'runbook')
      .map((m) => ({ id: m.citation.documentId, score: m.score }));
}

/**
 * The textbook Postgres full-text query over the same rows, the baseline of the latency ratio: every
 * word of the query (and the alert name as written) OR-ed, ranked by `ts_rank` on the same stored
 * document and GIN index, with the same service filter and limit.
 */
export function rawFtsRanker(db: Db): Ranker {
  return async (c) => {
    const request = requestOf(c);
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM runbooks, (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS q) query
       WHERE document @@ query.q AND ($2::text IS NULL OR cardinality(services) = 0 OR $2 = ANY (services))
       ORDER BY ts_rank(document, query.q) DESC, id
       LIMIT $3`,
      [`${request.query} ${request.alertName ?? ''}`, request.service, request.limit],
    );
    return rows.map((r) => ({ id: r.id }));
  };
}
