import type { Cache } from '@vigil/cache';

/** What an incident has spent on models so far, across every delivery and every copy. */
export interface Spent {
  calls: number;
  tokens: number;
  ms: number;
}

/** Where the per-incident model budget is counted: it outlives one delivery of a request. */
export interface BudgetLedger {
  spent(incidentId: string): Promise<Spent>;
  /** Adds to what the incident spent; returns the new totals of the kinds added (atomic per kind). */
  add(incidentId: string, delta: Partial<Spent>): Promise<Partial<Spent>>;
}

/** Incidents last days at most; what one spent is remembered for a week. */
const MEMORY_MS = 7 * 24 * 3600_000;
const kinds = ['calls', 'tokens', 'ms'] as const;

/**
 * The ledger in the cache: Redis when configured (shared by every reasoner copy), in memory
 * otherwise. A redelivered request — after a crash, a lost ack, a restart — starts from what the
 * incident already spent, so a crash loop cannot buy unlimited model calls.
 */
export function cacheBudgetLedger(cache: Cache): BudgetLedger {
  const key = (incidentId: string, kind: (typeof kinds)[number]): string => `model-budget:${incidentId}:${kind}`;
  return {
    async spent(incidentId) {
      const [calls, tokens, ms] = await Promise.all(kinds.map((kind) => cache.addToWindow(key(incidentId, kind), MEMORY_MS, 0)));
      return { calls: calls ?? 0, tokens: tokens ?? 0, ms: ms ?? 0 };
    },
    async add(incidentId, delta) {
      const added = kinds.map((kind) => [kind, Math.max(0, Math.round(delta[kind] ?? 0))] as const).filter(([, amount]) => amount > 0);
      const totals = await Promise.all(added.map(([kind, amount]) => cache.addToWindow(key(incidentId, kind), MEMORY_MS, amount)));
      return Object.fromEntries(added.map(([kind], i) => [kind, totals[i]]));
    },
  };
}
