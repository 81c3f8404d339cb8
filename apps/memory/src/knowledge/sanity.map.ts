import { z } from 'zod';
import { Remedy, type ContextMatch } from '@vigil/events';
import { bestPassage, relevance, termsOf } from './text.js';

/**
 * The GROQ query over runbook documents. Everything that comes from outside (the hypothesis text,
 * the service, the alert name, the document type, the limit) is a parameter, never spliced into
 * the query text, so a hypothesis cannot change what the query does. `score()` ranks the documents
 * (title and alerts count most; `body` may be plain text or Portable Text); memory then scores the
 * ones returned on its own scale (`relevance`), because `_score` has no upper bound.
 * Documents written for other services are left out, as in the local search.
 */
export const sanityRunbookQuery = `*[_type == $type && (!defined(services) || count(services) == 0 || $service == null || $service in services)]
  | score(
    boost(title match $text, 3),
    boost(alerts[] match $text, 2),
    boost(symptoms[] match $text, 2),
    tags[] match $text,
    body match $text,
    pt::text(body) match $text,
    boost($alertName in alerts, 5)
  )
  [_score > 0]
  | order(_score desc)
  [0...$limit]
  {_id, _type, _score, title, "slug": slug.current, "body": coalesce(pt::text(body), body), services, alerts, symptoms, tags, remedy}`;

const strings = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);

/** One document as the query projects it; a field the document lacks comes back as null. */
export const SanityRunbook = z.object({
  _id: z.string().min(1),
  _type: z.string().min(1),
  title: z.string().nullish(),
  slug: z.string().min(1).nullish(),
  body: z.string().nullish(),
  services: strings,
  alerts: strings,
  symptoms: strings,
  tags: strings,
  remedy: z.unknown().optional(),
});
export type SanityRunbook = z.output<typeof SanityRunbook>;

export interface SanityMatchQuery {
  query: string;
  service?: string | undefined;
  alertName?: string | undefined;
}

export interface MappedSanityRunbook {
  match: ContextMatch;
  /** Why the document's remedy was dropped, when it had one that is not a valid Remedy. */
  remedyProblem?: string;
}

/**
 * A Sanity runbook as a match: cited by its slug (so a document mirroring a local runbook has the
 * local runbook's id) or else its `_id`; the paragraph of its body that holds most of the query;
 * its typed remedy only when it validates against the Remedy schema the planner binds.
 */
export function mapSanityRunbook(doc: SanityRunbook, query: SanityMatchQuery, uri: string | undefined): MappedSanityRunbook {
  const terms = termsOf(query.query);
  const body = doc.body ?? '';
  const title = doc.title?.trim() || doc.slug || doc._id;
  const score = relevance(
    { terms, service: query.service, alertName: query.alertName },
    { text: [title, body, ...doc.alerts, ...doc.symptoms, ...doc.tags].join('\n'), alerts: doc.alerts, services: doc.services },
  );
  const remedy = doc.remedy === undefined || doc.remedy === null ? undefined : Remedy.safeParse(doc.remedy);
  const match: ContextMatch = {
    citation: { documentId: doc.slug ?? doc._id, kind: 'runbook', title, ...(uri ? { uri } : {}) },
    score,
    passage: bestPassage(body, terms),
    standing: 'runbook',
    ...(remedy?.success ? { remedy: remedy.data } : {}),
  };
  if (remedy && !remedy.success) {
    const problem = remedy.error.issues.map((i) => `${i.path.join('.') || '(remedy)'}: ${i.message}`).join('; ');
    return { match, remedyProblem: problem };
  }
  return { match };
}
