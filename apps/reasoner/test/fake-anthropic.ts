import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer: a Messages API body, an error status, or a stall past the client's timeout. */
export type FakeReply =
  | { kind: 'tool'; input: unknown; text?: string }
  | { kind: 'text'; text: string }
  | { kind: 'error'; status: number; type: string; retryAfter?: number }
  | { kind: 'stall'; ms: number };

export interface FakeAnthropic {
  url: string;
  /** Every request body received, raw, in order. */
  bodies: string[];
  headers: IncomingMessage['headers'][];
  reply(...replies: FakeReply[]): void;
  close(): Promise<void>;
}

/**
 * A loopback server speaking the Messages API (POST /v1/messages): checks the headers the SDK
 * must send, answers with scripted tool calls or the documented error bodies.
 */
export async function startFakeAnthropic(apiKey = 'sk-ant-test-key'): Promise<FakeAnthropic> {
  const queue: FakeReply[] = [];
  const bodies: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const send = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${++n}`, ...extra });
        res.end(JSON.stringify(body));
      };
      const error = (status: number, type: string, message: string, extra: Record<string, string> = {}): void =>
        send(status, { type: 'error', error: { type, message }, request_id: `req_${n}` }, extra);
      if (req.method !== 'POST' || req.url !== '/v1/messages') return error(404, 'not_found_error', `no route ${req.method} ${req.url}`);
      // The SDK authenticates with x-api-key (older versions) or Authorization: Bearer (newer ones).
      const presented = req.headers['x-api-key'] ?? req.headers.authorization?.replace(/^Bearer /, '');
      if (presented !== apiKey) return error(401, 'authentication_error', 'invalid x-api-key');
      if (!/^\d{4}-\d{2}-\d{2}$/.test(String(req.headers['anthropic-version'])))
        return error(400, 'invalid_request_error', 'anthropic-version header required');
      let body: { model?: unknown; max_tokens?: unknown; messages?: unknown; tools?: Array<{ name: string }> };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return error(400, 'invalid_request_error', 'body is not JSON');
      }
      if (typeof body.model !== 'string' || typeof body.max_tokens !== 'number' || !Array.isArray(body.messages))
        return error(400, 'invalid_request_error', 'model, max_tokens and messages are required');
      bodies.push(raw);
      headers.push(req.headers);
      const reply = queue.shift();
      if (!reply) return error(500, 'api_error', 'the fake has no scripted reply left');
      if (reply.kind === 'stall') {
        setTimeout(() => res.destroyed || send(200, {}), reply.ms).unref();
        return;
      }
      if (reply.kind === 'error')
        return error(
          reply.status,
          reply.type,
          `scripted ${reply.type}`,
          reply.retryAfter ? { 'retry-after': String(reply.retryAfter) } : {},
        );
      const content: unknown[] = [];
      if (reply.text ?? (reply.kind === 'text' ? reply.text : undefined)) content.push({ type: 'text', text: reply.text, citations: null });
      if (reply.kind === 'tool')
        content.push({ type: 'tool_use', id: `toolu_${n + 1}`, name: body.tools?.[0]?.name ?? 'missing', input: reply.input });
      send(200, {
        id: `msg_${n + 1}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: reply.kind === 'tool' ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: Math.ceil(raw.length / 4), output_tokens: 64, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    headers,
    reply: (...replies) => queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
