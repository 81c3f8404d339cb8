import { createClient, isHttpError } from '@sanity/client';
import { z } from 'zod';
import { silentLogger, type BusLogger } from '@vigil/bus';
import { VigilError } from '@vigil/errors';
import type { ContextMatch } from '@vigil/events';
import type { KnowledgeQuery, KnowledgeSource } from './port.js';
import { mapSanityRunbook, SanityRunbook, sanityRunbookQuery } from './sanity.map.js';
import { sourceFailure } from './source-errors.js';

export interface SanitySourceOptions {
  projectId: string;
  dataset: string;
  /** A dated API version, e.g. `2025-02-19`. */
  apiVersion: string;
  /** A read token; none for a public dataset. */
  token?: string | undefined;
  /**
   * Another API host (a proxy, a test server). The project then travels in the
   * `X-Sanity-Project-ID` header instead of the host name, which a custom host cannot carry.
   */
  apiHost?: string | undefined;
  /** The `_type` of runbook documents; `runbook` by default. */
  documentType?: string | undefined;
  /** The Studio's URL: citations then link to the document in the Studio. */
  studioUrl?: string | undefined;
  log?: BusLogger;
}

/**
 * Sanity's Content Lake through the official `@sanity/client`: one GROQ query (`sanityRunbookQuery`)
 * with every input as a parameter, the published perspective, no CDN (answers must be current),
 * no retries (the caller's deadline is short; the next incident asks again).
 */
export function createSanitySource(options: SanitySourceOptions): KnowledgeSource {
  const log = options.log ?? silentLogger;
  const client = createClient({
    projectId: options.projectId,
    dataset: options.dataset,
    apiVersion: options.apiVersion,
    useCdn: false,
    perspective: 'published',
    maxRetries: 0,
    requestTagPrefix: 'vigil',
    ...(options.token ? { token: options.token } : {}),
    ...(options.apiHost ? { apiHost: options.apiHost.replace(/\/+$/, ''), useProjectHostname: false } : {}),
  });
  const type = options.documentType ?? 'runbook';
  const studio = options.studioUrl?.replace(/\/+$/, '');
  const uriOf = (doc: SanityRunbook): string =>
    studio
      ? `${studio}/intent/edit/id=${encodeURIComponent(doc._id)};type=${encodeURIComponent(doc._type)}`
      : client.getUrl(client.getDataUrl('doc', encodeURIComponent(doc._id)));

  return {
    name: 'sanity',
    async search(query: KnowledgeQuery): Promise<ContextMatch[]> {
      let result: unknown;
      try {
        result = await client.fetch(
          sanityRunbookQuery,
          {
            type,
            text: query.query,
            service: query.service ?? null,
            alertName: query.alertName ?? null,
            // More than asked for: memory re-scores what comes back on its own scale.
            limit: Math.min(50, query.limit * 2),
          },
          { signal: query.signal, tag: 'memory-search' },
        );
      } catch (error) {
        throw sourceFailure('sanity', error, query.signal, options.token, (e) =>
          isHttpError(e) ? { status: e.statusCode, detail: e.message } : undefined,
        );
      }
      const documents = z.array(z.unknown()).safeParse(result);
      if (!documents.success)
        throw new VigilError('KNOWLEDGE_SOURCE_INVALID_RESPONSE', 'sanity answered a query with a result that is not an array');
      const matches: ContextMatch[] = [];
      for (const raw of documents.data) {
        const doc = SanityRunbook.safeParse(raw);
        if (!doc.success) {
          log.warn({ source: 'sanity', problems: doc.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'document skipped');
          continue;
        }
        const mapped = mapSanityRunbook(doc.data, query, uriOf(doc.data));
        if (mapped.remedyProblem)
          log.warn(
            { source: 'sanity', documentId: doc.data._id, problem: mapped.remedyProblem },
            'remedy is not valid; the match has none',
          );
        if (mapped.match.score > 0) matches.push(mapped.match);
      }
      return matches.sort((a, b) => b.score - a.score).slice(0, query.limit);
    },
  };
}
