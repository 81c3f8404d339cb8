import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A message as the fake Slack keeps it. */
export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export interface FakeCall {
  method: string;
  args: Record<string, unknown>;
  authorization: string | undefined;
}

/**
 * A loopback Slack Web API speaking the documented protocol (api-facts §5.3): `POST /api/<method>`,
 * `Authorization: Bearer xoxb-…`, form-encoded (what @slack/web-api sends, complex args as JSON
 * strings) or JSON bodies; errors as HTTP 200 with `{ok:false, error}`, rate limits as 429 with
 * Retry-After. Also a `response_url` endpoint that records what the app says to a clicker.
 */
export class FakeSlackApi {
  readonly calls: FakeCall[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** Bodies POSTed to response_url, by the id in its path. */
  readonly responses: Array<{ id: string; body: Record<string, unknown> }> = [];
  private readonly failures: Array<{ method: string; answer: { status: number; body: unknown; headers?: Record<string, string> } }> = [];
  private server: Server | undefined;
  private seq = 0;
  url = '';

  constructor(private readonly token: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** The Web API base URL to give the SDK (`slackApiUrl`). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(id: string): string {
    return `${this.url}/response/${id}`;
  }

  /** The next call of `method` gets this answer instead (e.g. a 429 or `{ok:false}`). */
  failNext(method: string, answer: { status: number; body: unknown; headers?: Record<string, string> }): void {
    this.failures.push({ method, answer });
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method !== 'POST') return { status: 405, body: { ok: false, error: 'method_not_allowed' } };
    if (url.pathname.startsWith('/response/')) {
      this.responses.push({ id: url.pathname.slice('/response/'.length), body: JSON.parse(raw) as Record<string, unknown> });
      return { status: 200, body: { ok: true } };
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const args = parseArgs(raw, String(req.headers['content-type'] ?? ''));
    this.calls.push({ method, args, authorization: req.headers.authorization });
    const failure = this.failures.findIndex((f) => f.method === method);
    if (failure >= 0) return this.failures.splice(failure, 1)[0]!.answer;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined) return { status: 200, body: { ok: false, error: 'not_authed' } };
    if (bearer !== this.token) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    switch (method) {
      case 'auth.test':
        return {
          status: 200,
          body: {
            ok: true,
            url: 'https://acme.slack.com/',
            team: 'Acme',
            user: 'vigil',
            team_id: 'T123',
            user_id: 'UVIGIL',
            bot_id: 'BVIGIL',
          },
        };
      case 'chat.postMessage':
        return { status: 200, body: this.post(args) };
      case 'chat.update':
        return { status: 200, body: this.update(args) };
      default:
        return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
  }

  private post(args: Record<string, unknown>): unknown {
    const channel = typeof args.channel === 'string' ? args.channel : '';
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
    this.seq += 1;
    const ts = `${1_700_000_000 + this.seq}.000100`;
    const message = { channel, ts, text: String(args.text ?? ''), blocks: blocksOf(args.blocks) };
    this.messages.set(`${channel}/${ts}`, message);
    return {
      ok: true,
      channel,
      ts,
      message: { type: 'message', ts, text: message.text, blocks: message.blocks, bot_id: 'BVIGIL', user: 'UVIGIL' },
    };
  }

  private update(args: Record<string, unknown>): unknown {
    const key = `${String(args.channel)}/${String(args.ts)}`;
    const existing = this.messages.get(key);
    if (!existing) return { ok: false, error: 'message_not_found' };
    const message = {
      ...existing,
      text: String(args.text ?? existing.text),
      blocks: args.blocks ? blocksOf(args.blocks) : existing.blocks,
    };
    this.messages.set(key, message);
    return {
      ok: true,
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      message: { type: 'message', text: message.text, blocks: message.blocks },
    };
  }
}

function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(raw));
}

const blocksOf = (value: unknown): Array<Record<string, unknown>> =>
  (typeof value === 'string' ? JSON.parse(value) : (value ?? [])) as Array<Record<string, unknown>>;

/** Every text a message shows, flattened (sections, fields, context, rich text). */
export function messageText(message: FakeMessage): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (typeof record.text === 'string') parts.push(record.text);
      for (const [key, value] of Object.entries(record)) if (key !== 'text' || typeof value !== 'string') walk(value);
    }
  };
  walk(message.blocks);
  return parts.join('\n');
}

/** Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` (api-facts §5.1). */
export function signSlack(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** A `block_actions` payload for a button click, shaped as Slack documents it (api-facts §5.2). */
export function buttonClick(options: {
  user: { id: string; name: string };
  actionId: string;
  value: string;
  channel: string;
  messageTs: string;
  responseUrl: string;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: options.user.id, username: options.user.name, name: options.user.name, team_id: 'T123' },
    api_app_id: 'A123',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: options.messageTs, channel_id: options.channel, is_ephemeral: false },
    trigger_id: '123.456.abc',
    team: { id: 'T123', domain: 'acme' },
    channel: { id: options.channel, name: 'incidents' },
    message: { type: 'message', ts: options.messageTs, text: 'Approval needed', blocks: [] },
    response_url: options.responseUrl,
    actions: [
      {
        type: 'button',
        block_id: 'vigil_decision',
        action_id: options.actionId,
        value: options.value,
        text: { type: 'plain_text', text: options.actionId === 'vigil_approve' ? 'Approve' : 'Deny' },
        action_ts: '1700000001.000200',
      },
    ],
  };
}

/** Posts an interaction as Slack does: form-encoded `payload=<json>`, signed. */
export async function postInteraction(
  url: string,
  payload: Record<string, unknown>,
  signing: { secret: string; timestamp: number; signature?: string },
): Promise<{ status: number; body: string }> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(signing.timestamp),
      'x-slack-signature': signing.signature ?? signSlack(signing.secret, signing.timestamp, body),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}
