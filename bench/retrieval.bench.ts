import { round, type Benchmark, type BenchResult } from './harness.js';
import { distractorRunbooks } from './retrieval/distractors.js';
import { loadLabelled, type LabelledCase } from './retrieval/labelled.js';
import { openLibrary, type Library, type StoreKind } from './retrieval/library.js';
import { rawFtsRanker, vigilRanker, type Ranker } from './retrieval/rankers.js';
import { measureRecall, percentile } from './retrieval/recall.js';

/** Library sizes for the latency runs (starter runbooks plus generated distractors). */
const SIZES = (process.env.BENCH_RETRIEVAL_SIZES ?? '1000,10000').split(',').map(Number);
/** Each labelled query is timed this many times on each side, Vigil and raw interleaved. */
const ROUNDS = Number(process.env.BENCH_RETRIEVAL_ROUNDS ?? 3);
const GOAL_RECALL_AT_3 = 0.95;

const cases = loadLabelled();
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const verdict = (value: number): string => (value >= GOAL_RECALL_AT_3 ? 'met' : 'NOT met');

/** Recall@1 and recall@3 over the labelled set (and each split), Vigil and the raw query side by side. */
async function recallOn(library: Library, figures: Record<string, number>, notes: string[]): Promise<void> {
  const prefix = library.kind;
  const vigil = await measureRecall(vigilRanker(library.db), cases);
  const raw = await measureRecall(rawFtsRanker(library.db), cases);
  figures[`${prefix}_recall_at_1`] = vigil.recallAt1;
  figures[`${prefix}_recall_at_3`] = vigil.recallAt3;
  for (const split of ['tuning', 'holdout'] as const) {
    const part = await measureRecall(
      vigilRanker(library.db),
      cases.filter((c) => c.split === split),
    );
    figures[`${prefix}_${split}_recall_at_1`] = part.recallAt1;
    figures[`${prefix}_${split}_recall_at_3`] = part.recallAt3;
  }
  figures[`${prefix}_raw_fts_recall_at_1`] = raw.recallAt1;
  figures[`${prefix}_raw_fts_recall_at_3`] = raw.recallAt3;
  figures[`${prefix}_median_score_correct_first`] = round(percentile(vigil.correctScores, 0.5));
  figures[`${prefix}_median_score_best_other`] = round(percentile(vigil.otherScores, 0.5));
  notes.push(`${prefix}: recall@3 ${vigil.recallAt3} (goal ≥ ${GOAL_RECALL_AT_3}: ${verdict(vigil.recallAt3)})`);
  for (const miss of vigil.notFirst) notes.push(`${prefix}: ${miss.id} expected ${miss.expected}, got ${miss.got.join(' | ')}`);
}

export const retrievalRecallBenchmark: Benchmark = {
  name: 'memory retrieval: recall on the labelled alerts',
  async run(): Promise<BenchResult> {
    const figures: Record<string, number> = {
      cases: cases.length,
      tuning_cases: cases.filter((c) => c.split === 'tuning').length,
      holdout_cases: cases.filter((c) => c.split === 'holdout').length,
    };
    const notes: string[] = [];
    for (const kind of ['pglite', 'postgres'] as const) {
      const library = await openLibrary(kind, postgresUrl);
      try {
        await recallOn(library, figures, notes);
      } finally {
        await library.close();
      }
    }
    notes.push('starter library only (8 runbooks); holdout cases were written after the tuning; raw FTS = OR-ed words ranked by ts_rank');
    return { name: this.name, figures, ratios: {}, goals: {}, notes };
  },
};

interface Timing {
  vigil: number[];
  raw: number[];
}

/** Times every labelled query `ROUNDS` times on each side, alternating, after one warm-up round. */
async function timeSearches(vigil: Ranker, raw: Ranker, all: readonly LabelledCase[]): Promise<Timing> {
  const timing: Timing = { vigil: [], raw: [] };
  const once = async (rank: Ranker, c: LabelledCase): Promise<number> => {
    const started = performance.now();
    await rank(c);
    return performance.now() - started;
  };
  for (const c of all) {
    await once(vigil, c);
    await once(raw, c);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) {
      // Alternate which side goes first, so neither always meets a warmer cache.
      if (round % 2 === 0) {
        timing.vigil.push(await once(vigil, c));
        timing.raw.push(await once(raw, c));
      } else {
        timing.raw.push(await once(raw, c));
        timing.vigil.push(await once(vigil, c));
      }
    }
  }
  return timing;
}

/** Grows one library through every size and measures latency and recall at each. */
async function latencyOn(kind: StoreKind, result: BenchResult): Promise<void> {
  const library = await openLibrary(kind, postgresUrl);
  try {
    const count = async (): Promise<number> =>
      Number((await library.db.query<{ n: number }>('SELECT count(*)::int AS n FROM runbooks')).rows[0]?.n);
    const starter = await count();
    const distractors = distractorRunbooks(Math.max(...SIZES));
    let added = 0;
    for (const size of SIZES) {
      const wanted = Math.max(0, size - starter);
      await library.add(distractors.slice(added, wanted));
      added = wanted;
      const documents = await count();
      const label = `${kind}_${size >= 1000 ? `${size / 1000}k` : size}`;
      const vigil = vigilRanker(library.db);
      const raw = rawFtsRanker(library.db);
      const timing = await timeSearches(vigil, raw, cases);
      const recall = await measureRecall(vigil, cases);
      const holdout = await measureRecall(
        vigil,
        cases.filter((c) => c.split === 'holdout'),
      );
      const rawRecall = await measureRecall(raw, cases);
      const vigilMedian = percentile(timing.vigil, 0.5);
      const rawMedian = percentile(timing.raw, 0.5);
      Object.assign(result.figures, {
        [`${label}_documents`]: documents,
        [`${label}_vigil_median_ms`]: round(vigilMedian, 2),
        [`${label}_vigil_p95_ms`]: round(percentile(timing.vigil, 0.95), 2),
        [`${label}_raw_fts_median_ms`]: round(rawMedian, 2),
        [`${label}_raw_fts_p95_ms`]: round(percentile(timing.raw, 0.95), 2),
        [`${label}_recall_at_1`]: recall.recallAt1,
        [`${label}_recall_at_3`]: recall.recallAt3,
        [`${label}_holdout_recall_at_3`]: holdout.recallAt3,
        [`${label}_raw_fts_recall_at_3`]: rawRecall.recallAt3,
      });
      result.ratios[`${label}_median_vs_raw_fts`] = round(rawMedian / vigilMedian);
      result.ratios[`${label}_p95_vs_raw_fts`] = round(percentile(timing.raw, 0.95) / percentile(timing.vigil, 0.95));
      for (const miss of recall.misses) result.notes?.push(`${label}: ${miss.id} expected ${miss.expected}, got ${miss.got.join(' | ')}`);
    }
  } finally {
    await library.close();
  }
}

export const retrievalLatencyBenchmark: Benchmark = {
  name: 'memory retrieval: search latency at 1k and 10k runbooks',
  async run(): Promise<BenchResult> {
    const result: BenchResult = {
      name: this.name,
      figures: { rounds: ROUNDS, queries_per_round: cases.length },
      ratios: {},
      goals: {},
      notes: [],
    };
    for (const kind of ['postgres', 'pglite'] as const) await latencyOn(kind, result);
    result.notes?.push(
      'starter library + generated distractor runbooks (other failures, ~70% for other services); ratio = raw median / Vigil median (1.0 = as fast as the raw query, > 1 faster)',
      'raw FTS = the query words OR-ed, ranked by ts_rank over the same rows, GIN index and service filter; both through the same Db port',
    );
    return result;
  },
};
