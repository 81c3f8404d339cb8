import { z } from 'zod';
import type { ContextMatch } from '@vigil/events';
import type { Runbook } from '../domain/runbook.js';
import { roundScore, trimPassage } from './text.js';

/** One source chunk of a `POST /search` answer (the fields memory reads; others are allowed). */
const SensoChunk = z.looseObject({
  content_id: z.string().min(1),
  chunk_text: z.string().nullish(),
  score: z.number(),
  title: z.string().nullish(),
});

/** The documented `POST /search` answer: `{ query, answer, results[], total_results, max_results, processing_time_ms }`. */
export const SensoSearchResponse = z.looseObject({ results: z.array(SensoChunk) });
export type SensoSearchResponse = z.output<typeof SensoSearchResponse>;

/** The documented `POST /content/raw` answer (202): the new content, queued for processing. */
export const SensoContentResponse = z.looseObject({ id: z.string().min(1), processing_status: z.string().optional() });

const titleMax = 255;
const runbookMarker = /^(.+) \[runbook ([a-z0-9][a-z0-9-]*)\]$/s;

/**
 * What memory sends to `POST /content/raw` for a runbook. The title carries the runbook's id
 * (`<title> [runbook <id>]`, at most 255 characters, as Senso requires), so a search hit on it
 * cites that runbook and merges with the local match of the same runbook.
 */
export function sensoContentOf(runbook: Runbook): { title: string; summary: string; text: string } {
  const marker = ` [runbook ${runbook.id}]`;
  const title = `${runbook.title.slice(0, titleMax - marker.length)}${marker}`;
  const facts = [
    runbook.services.length ? `services: ${runbook.services.join(', ')}` : 'services: any',
    runbook.alerts.length ? `alerts: ${runbook.alerts.join(', ')}` : '',
    runbook.symptoms.length ? `symptoms: ${runbook.symptoms.join(', ')}` : '',
  ].filter(Boolean);
  return { title, summary: facts.join('; ').slice(0, 1000), text: `# ${runbook.title}\n\n${runbook.body.trim()}\n` };
}

/**
 * Senso's chunks as matches: one per content (its best chunk), cited by the runbook id its title
 * carries when memory put it there, else `senso:<content_id>`; `uri` is the content's address in
 * Senso's API. Scores are documented as 0–1 and used as they are; should a deployment return
 * larger ones, they are divided by the largest so they stay in [0, 1].
 */
export function mapSensoResults(response: SensoSearchResponse, baseUrl: string, limit: number): ContextMatch[] {
  const best = new Map<string, SensoSearchResponse['results'][number]>();
  for (const chunk of response.results) {
    const seen = best.get(chunk.content_id);
    if (!seen || chunk.score > seen.score) best.set(chunk.content_id, chunk);
  }
  const top = Math.max(1, ...[...best.values()].map((c) => c.score));
  const matches: ContextMatch[] = [];
  for (const chunk of best.values()) {
    const score = roundScore(chunk.score / top);
    if (score <= 0) continue;
    const marked = runbookMarker.exec(chunk.title ?? '');
    const documentId = marked ? (marked[2] as string) : `senso:${chunk.content_id}`;
    const title = (marked ? (marked[1] as string) : chunk.title)?.trim() || documentId;
    matches.push({
      citation: { documentId, kind: 'runbook', title, uri: `${baseUrl}/content/${encodeURIComponent(chunk.content_id)}` },
      score,
      passage: trimPassage(chunk.chunk_text ?? ''),
      standing: 'runbook',
    });
  }
  return matches.sort((a, b) => b.score - a.score).slice(0, limit);
}
