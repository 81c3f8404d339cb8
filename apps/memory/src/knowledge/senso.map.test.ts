import { describe, expect, it } from 'vitest';
import { parseRunbook } from '../domain/runbook.js';
import { mapSensoResults, sensoContentOf, SensoSearchResponse } from './senso.map.js';

const base = 'https://sdk.senso.ai/api/v1';
const chunk = (content_id: string, score: number, title: string | null, chunk_text = 'text') => ({
  content_id,
  version_id: content_id,
  chunk_index: 0,
  chunk_text,
  score,
  title,
  vector_id: 'v',
});

describe('Senso results as matches', () => {
  it('keeps the best chunk of each content, cites the runbook id its title carries, and links the content', () => {
    const response = SensoSearchResponse.parse({
      query: 'q',
      answer: 'a',
      results: [
        chunk('c1', 0.4, 'API latency [runbook pg-lock-contention]', 'weaker'),
        chunk('c1', 0.7, 'API latency [runbook pg-lock-contention]', 'stronger'),
        chunk('c2', 0.9, 'Month-end notes'),
        chunk('c3', 0, 'Irrelevant'),
      ],
      total_results: 4,
      max_results: 10,
      processing_time_ms: 5,
    });
    expect(mapSensoResults(response, base, 5)).toEqual([
      {
        citation: { documentId: 'senso:c2', kind: 'runbook', title: 'Month-end notes', uri: `${base}/content/c2` },
        score: 0.9,
        passage: 'text',
        standing: 'runbook',
      },
      {
        citation: { documentId: 'pg-lock-contention', kind: 'runbook', title: 'API latency', uri: `${base}/content/c1` },
        score: 0.7,
        passage: 'stronger',
        standing: 'runbook',
      },
    ]);
    expect(mapSensoResults(response, base, 1)).toHaveLength(1);
  });

  it('scales scores above 1 into [0, 1] and names a content without a title by its id', () => {
    const response = SensoSearchResponse.parse({ results: [chunk('c1', 8, null), chunk('c2', 4, '')] });
    expect(mapSensoResults(response, base, 5).map((m) => [m.citation.title, m.score])).toEqual([
      ['senso:c1', 1],
      ['senso:c2', 0.5],
    ]);
  });

  it('refuses an answer without results', () => {
    expect(SensoSearchResponse.safeParse({ answer: 'no' }).success).toBe(false);
    expect(SensoSearchResponse.safeParse({ results: [{ content_id: 'c', score: 'high' }] }).success).toBe(false);
  });

  it('pushes a runbook with its id in a title of at most 255 characters', () => {
    const id = `pg-lock-${'x'.repeat(70)}`;
    const parsed = parseRunbook(
      'x.md',
      `---\nid: ${id}\ntitle: ${'Long title '.repeat(18)}\nalerts: [HighLatency]\nrisk: LOW\n---\n## Fix\nEnd the blocker.\n`,
    );
    if (!parsed.ok) throw new Error(parsed.problems.join());
    const content = sensoContentOf(parsed.runbook);
    expect(content.title.length).toBe(255);
    expect(content.title.endsWith(` [runbook ${id}]`)).toBe(true);
    expect(content.summary).toBe('services: any; alerts: HighLatency');
    expect(content.text).toContain('End the blocker.');
  });
});
