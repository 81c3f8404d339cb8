import type { ContextMatch } from '@vigil/events';

const keyOf = (match: ContextMatch): string => `${match.citation.kind}:${match.citation.documentId}`;

/**
 * Memory's own matches and the external sources' as one answer, best first. A document found more
 * than once (the same kind and id: a Sanity runbook whose slug is a local runbook's id) appears
 * once, as its best-scoring copy; when that copy prescribes no remedy, the remedy of another copy
 * of the same document is kept, so the planner still has it. As in the local search, the limit
 * applies to runbooks and to past incidents separately, and on equal scores the earlier copy
 * (the local one) ranks first.
 */
export function mergeMatches(local: readonly ContextMatch[], external: readonly ContextMatch[], limit: number): ContextMatch[] {
  const byDocument = new Map<string, ContextMatch>();
  for (const match of [...local, ...external]) {
    const key = keyOf(match);
    const seen = byDocument.get(key);
    if (!seen) {
      byDocument.set(key, match);
      continue;
    }
    const [best, other] = match.score > seen.score ? [match, seen] : [seen, match];
    byDocument.set(key, best.remedy || !other.remedy ? best : { ...best, remedy: other.remedy });
  }
  const sorted = [...byDocument.values()].sort((a, b) => b.score - a.score);
  const taken = { runbook: 0, incident: 0 };
  return sorted.filter((match) => ++taken[match.citation.kind] <= limit);
}
