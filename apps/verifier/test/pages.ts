import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Milliseconds before the answer is sent (a slow service). */
  delayMs?: number;
}

export type Route = (req: IncomingMessage, url: URL) => Answer | Promise<Answer>;

/** A small local site whose pages the test changes as it goes: the service being verified. */
export interface Pages {
  url: string;
  route(path: string, route: Route): void;
  /** Requests seen per path. */
  hits(path: string): number;
  /** Requests being answered right now (the most seen at once since the last reset). */
  peakInFlight(): number;
  resetPeak(): void;
  close(): Promise<void>;
}

export const html = (title: string, body: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

export async function startPages(routes: Record<string, Route> = {}): Promise<Pages> {
  const table = new Map(Object.entries(routes));
  const counts = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  const sockets = new Set<Socket>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      const route = table.get(url.pathname);
      const answer = route ? await route(req, url) : { status: 404, body: html('Not found', '<h1>Not found</h1>') };
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (res.destroyed) return;
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...answer.headers });
      res.end(answer.body ?? '');
    } finally {
      inFlight -= 1;
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    route: (path, route) => table.set(path, route),
    hits: (path) => counts.get(path) ?? 0,
    peakInFlight: () => peak,
    resetPeak: () => {
      peak = inFlight;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A latch: `wait()` resolves once `open()` is called. */
export function latch(): { wait: () => Promise<void>; open: () => void; isOpen: () => boolean } {
  let open!: () => void;
  let opened = false;
  const promise = new Promise<void>((resolve) => {
    open = () => {
      opened = true;
      resolve();
    };
  });
  return { wait: () => promise, open: () => open(), isOpen: () => opened };
}
