import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  pdIncidentId: string;
  body: unknown;
  /** What the fake answered. */
  status: number;
}

export interface FakePagerDutyRest {
  url: string;
  /** Every request, in arrival order, with the status it got. */
  readonly calls: RecordedCall[];
  /** Notes accepted, by PagerDuty incident id, in order. */
  notes(pdIncidentId: string): string[];
  /** PagerDuty incident ids resolved (accepted PUTs with status resolved). */
  readonly resolved: string[];
  /** The next request (any) is answered 429 with this Retry-After, in seconds. */
  rateLimitOnce(retryAfterSeconds: number): void;
  close(): Promise<void>;
}

/**
 * Loopback fake of PagerDuty REST API v2 (notes and incident update only). Checks the three
 * headers PagerDuty requires on these calls and the documented bodies; answers 400 / 401 with
 * PagerDuty's error shape when they are wrong, 404 for an unknown incident.
 */
export async function startFakePagerDutyRest(options: {
  apiKey: string;
  fromEmail: string;
  incidents: string[];
}): Promise<FakePagerDutyRest> {
  const calls: RecordedCall[] = [];
  const notes = new Map<string, string[]>();
  const resolved: string[] = [];
  let pending429: number | undefined;

  const server: Server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const path = req.url ?? '';
      const match = /^\/incidents\/([^/]+)(\/notes)?$/.exec(path);
      const pdIncidentId = match?.[1] ? decodeURIComponent(match[1]) : '';
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const answer = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        calls.push({ method: req.method ?? '', path, pdIncidentId, body, status });
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
      };
      const error = (status: number, code: number, message: string): void => answer(status, { error: { code, message } });

      if (req.headers.authorization !== `Token token=${options.apiKey}`) return error(401, 2006, 'Authentication failed');
      if (req.headers.accept !== 'application/vnd.pagerduty+json;version=2') return error(400, 2001, 'Invalid Accept header');
      if (req.headers.from !== options.fromEmail) return error(400, 2011, 'You must specify a requester_id');
      if (!req.headers['content-type']?.startsWith('application/json')) return error(400, 2001, 'Invalid Input Provided');
      if (pending429 !== undefined) {
        const seconds = pending429;
        pending429 = undefined;
        return answer(
          429,
          { error: { message: 'Rate Limit Exceeded', code: 2020 } },
          { 'retry-after': String(seconds), 'ratelimit-reset': String(seconds) },
        );
      }
      if (!match) return error(404, 2100, 'Not Found');
      if (!options.incidents.includes(pdIncidentId)) return error(404, 5001, 'Incident Not Found');

      if (req.method === 'POST' && match[2]) {
        const content = (body as { note?: { content?: unknown } } | undefined)?.note?.content;
        if (typeof content !== 'string' || content === '') return error(400, 2001, 'note.content is required');
        notes.set(pdIncidentId, [...(notes.get(pdIncidentId) ?? []), content]);
        return answer(200, { note: { id: `N${calls.length}`, content, created_at: new Date().toISOString() } });
      }
      if (req.method === 'PUT' && !match[2]) {
        const incident = (body as { incident?: { type?: unknown; status?: unknown } } | undefined)?.incident;
        if (incident?.type !== 'incident_reference' && incident?.type !== 'incident') return error(400, 2001, 'incident.type is required');
        if (incident.status !== 'resolved') return error(400, 1003, 'Invalid Status');
        if (resolved.includes(pdIncidentId)) return error(400, 1001, 'Incident Already Resolved');
        resolved.push(pdIncidentId);
        return answer(200, { incident: { id: pdIncidentId, type: 'incident', status: 'resolved' } });
      }
      return error(404, 2100, 'Not Found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    resolved,
    notes: (id) => notes.get(id) ?? [],
    rateLimitOnce(seconds) {
      pending429 = seconds;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
