import { describe, expect, it } from 'vitest';
import type { ContextMatch } from '@vigil/events';
import { mergeMatches } from './merge.js';

const remedy = { risk: 'LOW' as const, steps: [{ action: 'postgres.terminate_backend', params: {}, reasoning: '' }], checks: [] };
const match = (
  documentId: string,
  score: number,
  extra: Partial<ContextMatch> = {},
  kind: 'runbook' | 'incident' = 'runbook',
): ContextMatch => ({
  citation: { documentId, kind, title: documentId },
  score,
  passage: '',
  standing: kind === 'runbook' ? 'runbook' : 'proven',
  ...extra,
});

describe('mergeMatches', () => {
  it('keeps one copy per document, the best-scoring, with the remedy of another copy when it has none', () => {
    const local = [match('pg-lock', 0.6, { remedy, citation: { documentId: 'pg-lock', kind: 'runbook', title: 'local', lines: [3, 9] } })];
    const external = [match('pg-lock', 0.8, { citation: { documentId: 'pg-lock', kind: 'runbook', title: 'sanity', uri: 'u' } })];
    const [merged, ...rest] = mergeMatches(local, external, 5);
    expect(rest).toEqual([]);
    expect(merged).toMatchObject({ score: 0.8, citation: { title: 'sanity', uri: 'u' }, remedy });
    expect(mergeMatches(external, local, 5)[0]).toMatchObject({ score: 0.8, citation: { title: 'sanity' }, remedy });
  });

  it('keeps the better copy as it is when it has its own remedy, and the local copy on a tie', () => {
    const own = { ...remedy, risk: 'MEDIUM' as const };
    expect(mergeMatches([match('a', 0.5, { remedy })], [match('a', 0.9, { remedy: own })], 5)[0]?.remedy).toBe(own);
    expect(mergeMatches([match('a', 0.5, { passage: 'local' })], [match('a', 0.5, { passage: 'external' })], 5)[0]?.passage).toBe('local');
  });

  it('sorts best first and limits runbooks and past incidents separately', () => {
    const local = [match('r1', 0.9), match('r2', 0.3), match('i1', 0.7, {}, 'incident'), match('i2', 0.2, {}, 'incident')];
    const external = [match('x1', 0.8), match('x2', 0.1), match('i1', 0.95)];
    const merged = mergeMatches(local, external, 2);
    expect(merged.map((m) => `${m.citation.kind}:${m.citation.documentId}:${m.score}`)).toEqual([
      'runbook:i1:0.95',
      'runbook:r1:0.9',
      'incident:i1:0.7',
      'incident:i2:0.2',
    ]);
  });
});
