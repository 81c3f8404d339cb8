import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { evaluate, parse } from 'groq-js';

/**
 * A loopback Sanity Content Lake query endpoint as documented (reference/api-facts.md §9):
 * `GET /v{apiVersion}/data/query/{dataset}?query=<GROQ>&$param=<JSON>&perspective=…&returnQuery=…&tag=…`,
 * or `POST` to the same path with `{ query, params }` when the query string is long. The project is
 * the `X-Sanity-Project-ID` header (a custom apiHost has no project host name), auth is
 * `Authorization: Bearer <token>`. It runs the GROQ it receives with groq-js, Sanity's own GROQ
 * implementation, over the documents it holds, so a wrong query or a missing parameter fails here
 * as it would there. Answers `{ ms, query?, result }`; errors as Sanity words them: Boom-style
 * `{ statusCode, error, message }` for auth, `{ error: { type: 'queryParseError', description, query,
 * start, end } }` for a bad query, `{ error: { description, type } }` otherwise.
 */
export interface FakeSanityOptions {
  projectId: string;
  dataset: string;
  token: string;
  documents: Array<Record<string, unknown>>;
  /** Quote the presented credential in auth errors (a careless vendor), to prove we never log it. */
  quoteCredentials?: boolean;
}

export type FakeFailure = { status: number } | { stall: true };

export interface SanityRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The query-string parameters, `$`-prefixed GROQ parameters included (still JSON-encoded). */
  search: Record<string, string>;
  groq: string | undefined;
  /** The GROQ parameters, decoded. */
  params: Record<string, unknown>;
}

export interface FakeSanity {
  /** The apiHost to give the client. */
  url: string;
  requests: SanityRequest[];
  failNext(...failures: FakeFailure[]): void;
  close(): Promise<void>;
}

const referencedParams = (groq: string): string[] => {
  // Parameters outside string literals: strip the literals first.
  const code = groq.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...new Set([...code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string))];
};

export async function startFakeSanity(options: FakeSanityOptions): Promise<FakeSanity> {
  const requests: SanityRequest[] = [];
  const failures: FakeFailure[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const send = (status: number, body: unknown): void => {
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-sanity-shard': 'fake' });
          res.end(JSON.stringify(body));
        };
        const url = new URL(req.url ?? '/', 'http://fake');
        const search = Object.fromEntries(url.searchParams.entries());
        const route = /^\/v(\d{4}-\d{2}-\d{2})\/data\/query\/([^/]+)$/.exec(url.pathname);
        let groq: string | undefined = search.query;
        const params: Record<string, unknown> = {};
        const record: SanityRequest = { method: req.method ?? '', path: url.pathname, headers: req.headers, search, groq, params };
        requests.push(record);
        if (!route || (req.method !== 'GET' && req.method !== 'POST'))
          return send(404, { statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${url.pathname}` });
        const presented = req.headers.authorization;
        if (presented !== `Bearer ${options.token}`)
          return send(401, {
            statusCode: 401,
            error: 'Unauthorized',
            message: options.quoteCredentials ? `Session not found for ${String(presented)}` : 'Session not found',
          });
        if (req.headers['x-sanity-project-id'] !== options.projectId)
          return send(404, { statusCode: 404, error: 'Not Found', message: 'Project not found' });
        if (route[2] !== options.dataset)
          return send(404, {
            error: { description: `Dataset "${route[2]}" not found for project ID "${options.projectId}"`, type: 'httpNotFound' },
          });
        try {
          if (req.method === 'POST') {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query?: string; params?: Record<string, unknown> };
            groq = body.query;
            Object.assign(params, body.params ?? {});
          } else {
            for (const [key, value] of Object.entries(search)) if (key.startsWith('$')) params[key.slice(1)] = JSON.parse(value);
          }
        } catch {
          return send(400, { error: { description: 'Unable to parse the request parameters', type: 'httpBadRequest' } });
        }
        record.groq = groq;
        if (!groq) return send(400, { error: { description: 'query is required', type: 'httpBadRequest' } });
        const missing = referencedParams(groq).filter((p) => !(p in params));
        if (missing.length > 0)
          return send(400, {
            error: {
              description: `param $${missing[0]} referenced, but not provided`,
              query: groq,
              type: 'queryParseError',
              start: 0,
              end: 0,
            },
          });
        const failure = failures.shift();
        if (failure && 'stall' in failure) return; // never answers: the caller's deadline must end it
        if (failure) return send(failure.status, { error: { description: 'Internal Server Error', type: 'httpInternalServerError' } });
        let tree;
        try {
          tree = parse(groq, { params });
        } catch (error) {
          const e = error as { message: string; position?: number };
          return send(400, {
            error: { description: e.message, query: groq, type: 'queryParseError', start: e.position ?? 0, end: e.position ?? 0 },
          });
        }
        // The published perspective (the default since API version 2025-02-19) hides drafts.
        const raw = search.perspective === 'raw';
        const dataset = options.documents.filter((d) => raw || !String(d._id).startsWith('drafts.'));
        const result = await (await evaluate(tree, { dataset, params })).get();
        send(200, { ms: 1, ...(search.returnQuery === 'false' ? {} : { query: groq }), result });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...f) => void failures.push(...f),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
