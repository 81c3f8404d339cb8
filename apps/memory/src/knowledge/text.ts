/**
 * Pure text helpers for external knowledge sources: the terms of a query, a score in [0, 1] on the
 * same scale as the local search, and the passage a match quotes. No I/O.
 */

const stopWords = new Set(
  'a an and are as at be been but by can for from has have he her his how i in into is it its no not of on or our she so than that the their them then there these they this to was we were what when where which while who why will with you your'.split(
    ' ',
  ),
);

/** A light English stemmer: enough for "locks"/"locked"/"locking" to meet "lock". */
function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith('es') && !word.endsWith('ses')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The distinct, stemmed, lower-case words of a text, stop words left out. */
export function termsOf(text: string): string[] {
  const terms = new Set<string>();
  for (const word of text.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word.length < 2 || stopWords.has(word)) continue;
    terms.add(stem(word));
  }
  return [...terms];
}

export interface RelevanceQuery {
  terms: readonly string[];
  service?: string | undefined;
  alertName?: string | undefined;
}

export interface RelevanceDocument {
  /** Everything searchable: title, body, alerts, symptoms, tags. */
  text: string;
  alerts: readonly string[];
  /** None: the document applies to any service. */
  services: readonly string[];
}

/**
 * A score in [0, 1] on the local search's scale, because the gate compares every runbook match
 * with the same thresholds whatever its source: 0.45 × the share of the query's terms the document
 * covers + 0.35 × an exact alert-name match + 0.20 × a service match (0.10 for a document that
 * names no service).
 */
export function relevance(query: RelevanceQuery, document: RelevanceDocument): number {
  const present = new Set(termsOf(document.text));
  const coverage = query.terms.length === 0 ? 0 : query.terms.filter((t) => present.has(t)).length / query.terms.length;
  const wanted = query.alertName?.toLowerCase();
  const alertMatch = wanted !== undefined && document.alerts.some((a) => a.toLowerCase() === wanted) ? 1 : 0;
  const serviceMatch =
    query.service !== undefined && document.services.includes(query.service) ? 1 : document.services.length === 0 ? 0.5 : 0;
  return roundScore(0.45 * coverage + 0.35 * alertMatch + 0.2 * serviceMatch);
}

/** Clamped to [0, 1] and rounded to three decimals, as every score memory publishes. */
export function roundScore(score: number): number {
  if (!Number.isFinite(score)) return 0;
  return Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
}

/** Whitespace collapsed and at most `max` characters, cut at a word with an ellipsis. */
export function trimPassage(text: string, max = 600): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > max / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

/** The paragraph that holds most of the query's terms (the first on a tie), trimmed. */
export function bestPassage(text: string, terms: readonly string[], max = 600): string {
  const paragraphs = text.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  let best = paragraphs[0] ?? '';
  let bestHits = -1;
  for (const paragraph of paragraphs) {
    const present = new Set(termsOf(paragraph));
    const hits = terms.filter((t) => present.has(t)).length;
    if (hits > bestHits) {
      best = paragraph;
      bestHits = hits;
    }
  }
  return trimPassage(best, max);
}
