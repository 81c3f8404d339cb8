import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { starterRunbooksDir } from '@vigil/memory';
import { distractorRunbooks } from '../retrieval/distractors.js';
import { loadLabelled } from '../retrieval/labelled.js';
import { openLibrary, type Library } from '../retrieval/library.js';
import { vigilRanker } from '../retrieval/rankers.js';
import { measureRecall, type Recall } from '../retrieval/recall.js';

/**
 * The quality gate for memory's runbook search: the labelled alerts (bench/retrieval/labelled.json)
 * must find their runbook among the first three at least 95% of the time, on PGlite, with the
 * starter library alone and with generated runbooks around it. Quality only: no timing here.
 */
const GOAL = 0.95;
const cases = loadLabelled();

const explain = (recall: Recall): string =>
  `recall@3 ${recall.recallAt3} over ${recall.cases} cases; misses:\n${recall.misses.map((m) => `  ${m.id}: expected ${m.expected}, got ${m.got.join(' | ')}`).join('\n')}`;

describe('runbook retrieval quality (PGlite)', () => {
  let library: Library;
  beforeAll(async () => {
    library = await openLibrary('pglite');
  }, 60_000);
  afterAll(async () => {
    await library.close();
  });

  it('labels every starter runbook, at least four times each, and only starter runbooks', async () => {
    const starter = (await readdir(starterRunbooksDir)).filter((f) => f.endsWith('.md')).map((f) => f.replace(/\.md$/, ''));
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const id of starter) expect(cases.filter((c) => c.expected === id).length, id).toBeGreaterThanOrEqual(4);
    for (const c of cases) expect(starter, c.id).toContain(c.expected);
    expect(cases.filter((c) => c.split === 'holdout').length).toBeGreaterThanOrEqual(Math.ceil(cases.length * 0.25));
  });

  it(`finds the expected runbook in the first three for at least ${GOAL * 100}% of the labelled alerts`, async () => {
    const recall = await measureRecall(vigilRanker(library.db), cases);
    expect(recall.recallAt3, explain(recall)).toBeGreaterThanOrEqual(GOAL);
    const holdout = await measureRecall(
      vigilRanker(library.db),
      cases.filter((c) => c.split === 'holdout'),
    );
    expect(holdout.recallAt3, explain(holdout)).toBeGreaterThanOrEqual(GOAL);
  });

  it('still does with 300 generated runbooks about other failures in the library', async () => {
    await library.add(distractorRunbooks(300));
    const recall = await measureRecall(vigilRanker(library.db), cases);
    expect(recall.recallAt3, explain(recall)).toBeGreaterThanOrEqual(GOAL);
  }, 180_000);
});
