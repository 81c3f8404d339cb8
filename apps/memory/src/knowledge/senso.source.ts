import type { z } from 'zod';
import { VigilError } from '@vigil/errors';
import type { ContextMatch } from '@vigil/events';
import type { Runbook } from '../domain/runbook.js';
import type { KnowledgeQuery, KnowledgeSource } from './port.js';
import { mapSensoResults, SensoContentResponse, sensoContentOf, SensoSearchResponse } from './senso.map.js';
import { sourceFailure, vendorDetail } from './source-errors.js';

/** Senso's documented API root. */
export const sensoDefaultBaseUrl = 'https://sdk.senso.ai/api/v1';

export interface SensoSourceOptions {
  apiKey: string;
  /** The API root, `https://sdk.senso.ai/api/v1` by default. */
  baseUrl?: string | undefined;
}

class SensoHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`senso answered ${status}`);
  }
}

/**
 * Senso through its REST API (no SDK): `POST /search` for cited chunks and `POST /content/raw` to
 * push a runbook's text, both with the `X-API-Key` header. Errors come as `{ "error": "…" }`.
 */
export function createSensoSource(options: SensoSourceOptions): KnowledgeSource {
  const baseUrl = (options.baseUrl ?? sensoDefaultBaseUrl).replace(/\/+$/, '');

  const post = async <S extends z.ZodType>(path: string, body: unknown, schema: S, signal: AbortSignal): Promise<z.output<S>> => {
    let json: unknown;
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'X-API-Key': options.apiKey, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
      const text = await response.text();
      if (!response.ok) throw new SensoHttpError(response.status, errorText(text));
      json = JSON.parse(text);
    } catch (error) {
      if (error instanceof SyntaxError)
        throw new VigilError('KNOWLEDGE_SOURCE_INVALID_RESPONSE', `senso answered ${path} with something that is not JSON`);
      throw sourceFailure('senso', error, signal, options.apiKey, (e) =>
        e instanceof SensoHttpError ? { status: e.status, detail: e.detail } : undefined,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      throw new VigilError('KNOWLEDGE_SOURCE_INVALID_RESPONSE', `senso answered ${path} with an unexpected shape: ${problems}`);
    }
    return parsed.data;
  };

  return {
    name: 'senso',
    async search(query: KnowledgeQuery): Promise<ContextMatch[]> {
      // Chunks of one content come separately, so ask for more than the limit.
      const response = await post('/search', { query: query.query, max_results: query.limit * 2 }, SensoSearchResponse, query.signal);
      return mapSensoResults(response, baseUrl, query.limit);
    },
    async ingest(runbook: Runbook, signal: AbortSignal): Promise<void> {
      try {
        await post('/content/raw', sensoContentOf(runbook), SensoContentResponse, signal);
      } catch (error) {
        // 409: Senso already holds this content; pushing it again has nothing to add.
        if (error instanceof VigilError && error.details?.status === 409) return;
        throw error;
      }
    },
  };
}

/** The `error` of a documented error body, or the start of whatever came instead. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return vendorDetail(body.error, undefined);
  } catch {
    // not JSON: quote it
  }
  return vendorDetail(text || '(no body)', undefined);
}
