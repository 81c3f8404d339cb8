import type { LabelledCase } from './labelled.js';
import type { Ranker } from './rankers.js';

export interface Miss {
  id: string;
  expected: string;
  /** The three runbooks ranked first, best first, with their scores where the ranker gives them. */
  got: string[];
}

export interface Recall {
  cases: number;
  /** Share of cases whose expected runbook is ranked first. */
  recallAt1: number;
  /** Share of cases whose expected runbook is among the first three. */
  recallAt3: number;
  /** Cases whose expected runbook is not among the first three. */
  misses: Miss[];
  /** Cases whose expected runbook is not first. */
  notFirst: Miss[];
  /** The score of the expected runbook where it is ranked first (what the gate sees as runbook match). */
  correctScores: number[];
  /** The best score of any other runbook, per case (how close the runner-up comes). */
  otherScores: number[];
}

const share = (n: number, of: number): number => (of === 0 ? 0 : Math.round((n / of) * 1000) / 1000);

/** Ranks every case and scores the rankings. */
export async function measureRecall(rank: Ranker, cases: readonly LabelledCase[]): Promise<Recall> {
  let first = 0;
  let top3 = 0;
  const misses: Miss[] = [];
  const notFirst: Miss[] = [];
  const correctScores: number[] = [];
  const otherScores: number[] = [];
  for (const c of cases) {
    const ranked = await rank(c);
    const position = ranked.findIndex((r) => r.id === c.expected);
    const got = ranked.slice(0, 3).map((r) => (r.score === undefined ? r.id : `${r.id} ${r.score}`));
    if (position === 0) {
      first++;
      if (ranked[0]?.score !== undefined) correctScores.push(ranked[0].score);
    } else notFirst.push({ id: c.id, expected: c.expected, got });
    if (position >= 0 && position < 3) top3++;
    else misses.push({ id: c.id, expected: c.expected, got });
    const other = ranked.find((r) => r.id !== c.expected)?.score;
    if (other !== undefined) otherScores.push(other);
  }
  return {
    cases: cases.length,
    recallAt1: share(first, cases.length),
    recallAt3: share(top3, cases.length),
    misses,
    notFirst,
    correctScores,
    otherScores,
  };
}

/** The value below which `p` of the sorted samples fall (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}
