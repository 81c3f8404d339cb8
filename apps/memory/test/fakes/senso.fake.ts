import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Senso API (docs.senso.ai, base `https://sdk.senso.ai/api/v1`) serving the two
 * endpoints memory uses, under `/api/v1`:
 * - `POST /content/raw` `{ title?, summary?, text }` → 202 `{ id, org_id, type: 'raw', title,
 *   summary, version_num, processing_status: 'queued', created_at, updated_at }`;
 * - `POST /search` `{ query, max_results? (default 5), org_id?, category_id?, topic_id? }` → 200
 *   `{ query, answer, results: [{ content_id, version_id, chunk_index, chunk_text, score, title,
 *   vector_id }], total_results, max_results, processing_time_ms }`.
 * Every request needs `X-API-Key`; errors are `{ "error": "…" }` (400, 401, 404, 500 …). Content
 * is split into paragraph chunks and is searchable at once (the real service queues it first);
 * a chunk's score in [0, 1] is the share of the question's words it holds.
 */
export interface FakeSensoOptions {
  apiKey: string;
  /** Quote the presented key in auth errors (a careless vendor), to prove we never log it. */
  quoteCredentials?: boolean;
}

export type FakeFailure = { status: number } | { stall: true };

export interface SensoContent {
  id: string;
  title: string;
  summary: string;
  text: string;
}

export interface FakeSenso {
  /** The API root to configure (`…/api/v1`). */
  baseUrl: string;
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: unknown }>;
  contents: SensoContent[];
  /** Content already in the knowledge base; returns its id. */
  seed(content: Omit<SensoContent, 'id'>): string;
  failNext(...failures: FakeFailure[]): void;
  close(): Promise<void>;
}

const orgId = '3c90c3cc-0d44-4b50-8888-8dd25736052a';
const wordsOf = (text: string): Set<string> => new Set(text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);

export async function startFakeSenso(options: FakeSensoOptions): Promise<FakeSenso> {
  const requests: FakeSenso['requests'] = [];
  const contents: SensoContent[] = [];
  const failures: FakeFailure[] = [];
  const seed = (content: Omit<SensoContent, 'id'>): string => {
    const id = randomUUID();
    contents.push({ id, ...content });
    return id;
  };

  const search = (body: Record<string, unknown>) => {
    const query = body.query as string;
    const max = typeof body.max_results === 'number' ? body.max_results : 5;
    const wanted = [...wordsOf(query)];
    const hits = contents.flatMap((content) =>
      content.text
        .split(/\n\s*\n/)
        .map((chunk, index) => {
          const present = wordsOf(`${content.title}\n${chunk}`);
          const score = wanted.length === 0 ? 0 : wanted.filter((w) => present.has(w)).length / wanted.length;
          return {
            content_id: content.id,
            version_id: content.id,
            chunk_index: index,
            chunk_text: chunk,
            score: Math.round(score * 1000) / 1000,
            title: content.title,
            vector_id: `${content.id}:${index}`,
          };
        })
        .filter((hit) => hit.score > 0),
    );
    hits.sort((a, b) => b.score - a.score);
    const results = hits.slice(0, max);
    return {
      query,
      answer: results.length ? `According to ${results[0]?.title}: ${results[0]?.chunk_text}` : 'No answer found in your content.',
      results,
      total_results: hits.length,
      max_results: max,
      processing_time_ms: 3,
    };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown): void => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const presented = req.headers['x-api-key'];
      if (presented !== options.apiKey)
        return send(401, { error: options.quoteCredentials ? `Invalid API key ${String(presented)}` : 'Invalid or missing API key' });
      if (req.method !== 'POST' || (path !== '/api/v1/search' && path !== '/api/v1/content/raw'))
        return send(404, { error: `Not found: ${req.method} ${path}` });
      if (!String(req.headers['content-type']).startsWith('application/json') || !body || typeof body !== 'object')
        return send(400, { error: 'Request body must be JSON' });
      const fields = body as Record<string, unknown>;
      const failure = failures.shift();
      if (failure && 'stall' in failure) return; // never answers: the caller's deadline must end it
      if (failure) return send(failure.status, { error: 'Internal server error' });
      if (path === '/api/v1/search') {
        if (typeof fields.query !== 'string' || fields.query.trim() === '') return send(400, { error: 'query is required' });
        if (fields.max_results !== undefined && (!Number.isInteger(fields.max_results) || (fields.max_results as number) < 1))
          return send(400, { error: 'max_results must be a positive integer' });
        return send(200, search(fields));
      }
      if (typeof fields.text !== 'string' || fields.text === '') return send(400, { error: 'text is required' });
      if (fields.title !== undefined && (typeof fields.title !== 'string' || fields.title.length < 1 || fields.title.length > 255))
        return send(400, { error: 'title must be between 1 and 255 characters' });
      if (fields.summary !== undefined && (typeof fields.summary !== 'string' || fields.summary.length > 1000))
        return send(400, { error: 'summary must be at most 1000 characters' });
      const title = (fields.title as string | undefined) ?? '';
      const summary = (fields.summary as string | undefined) ?? '';
      const id = seed({ title, summary, text: fields.text });
      const now = new Date().toISOString();
      send(202, {
        id,
        org_id: orgId,
        type: 'raw',
        title,
        summary,
        version_num: 1,
        processing_status: 'queued',
        created_at: now,
        updated_at: now,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests,
    contents,
    seed,
    failNext: (...f) => void failures.push(...f),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
