import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer, in vendor-neutral terms; each dialect renders it in its own protocol. */
export type FakeReply =
  | { kind: 'tool'; input: unknown; text?: string }
  | { kind: 'text'; text: string }
  | { kind: 'error'; status: number; retryAfter?: number }
  | { kind: 'stall'; ms: number };

export interface Rendered {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** How one vendor's API checks a request and renders a scripted reply. */
export interface Dialect {
  /** An error to answer with (bad route, key, body), or undefined to answer from the script. */
  check(request: { method: string; url: string; headers: IncomingHttpHeaders }, body: unknown): Rendered | undefined;
  render(reply: Exclude<FakeReply, { kind: 'stall' }>, body: unknown, n: number): Rendered;
}

export interface FakeModelServer {
  url: string;
  /** Every accepted request body, raw, in order. */
  bodies: string[];
  reply(...replies: FakeReply[]): void;
  close(): Promise<void>;
}

/** A loopback HTTP server answering from a script in a vendor's dialect. */
export async function startFakeModelServer(dialect: Dialect): Promise<FakeModelServer> {
  const queue: FakeReply[] = [];
  const bodies: string[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const send = ({ status, body, headers }: Rendered): void => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const refused = dialect.check({ method: req.method ?? '', url: req.url ?? '', headers: req.headers }, body);
      if (refused) return send(refused);
      bodies.push(raw);
      n++;
      const reply = queue.shift();
      if (!reply) return send(dialect.render({ kind: 'error', status: 500 }, body, n));
      if (reply.kind === 'stall') {
        setTimeout(() => send(dialect.render({ kind: 'text', text: 'too late' }, body, n)), reply.ms).unref();
        return;
      }
      send(dialect.render(reply, body, n));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    reply: (...replies) => queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
