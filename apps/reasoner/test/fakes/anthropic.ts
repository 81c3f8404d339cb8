import { startFakeModelServer, type Dialect, type FakeModelServer, type Rendered } from './model-server.js';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const error = (status: number, message: string, headers?: Record<string, string>): Rendered => ({
  status,
  body: { type: 'error', error: { type: errorTypes[status] ?? 'api_error', message }, request_id: 'req_fake' },
  headers: { 'request-id': 'req_fake', ...headers },
});

/** The Anthropic Messages API (POST /v1/messages), as documented. */
export function anthropicDialect(apiKey: string): Dialect {
  return {
    check({ method, url, headers }, body) {
      if (method !== 'POST' || url !== '/v1/messages') return error(404, `no route ${method} ${url}`);
      // Older SDKs send x-api-key, newer ones Authorization: Bearer.
      const presented = headers['x-api-key'] ?? headers.authorization?.replace(/^Bearer /, '');
      if (presented !== apiKey) return error(401, 'invalid x-api-key');
      if (!/^\d{4}-\d{2}-\d{2}$/.test(String(headers['anthropic-version']))) return error(400, 'anthropic-version header required');
      const b = body as { model?: unknown; max_tokens?: unknown; messages?: unknown } | undefined;
      if (typeof b?.model !== 'string' || typeof b.max_tokens !== 'number' || !Array.isArray(b.messages))
        return error(400, 'model, max_tokens and messages are required');
      const empty = (b.messages as Array<{ role: string; content: unknown }>).findIndex((m) =>
        Array.isArray(m.content) ? m.content.length === 0 : !m.content,
      );
      if (empty >= 0) return error(400, `messages.${empty}: all messages must have non-empty content`);
      return undefined;
    },
    render(reply, body, n) {
      if (reply.kind === 'error')
        return error(reply.status, `scripted ${reply.status}`, reply.retryAfter ? { 'retry-after': String(reply.retryAfter) } : undefined);
      const request = body as { model: string; tools?: Array<{ name: string }> };
      const content: unknown[] = [];
      if (reply.text) content.push({ type: 'text', text: reply.text, citations: null });
      if (reply.kind === 'tool')
        content.push({ type: 'tool_use', id: `toolu_${n}`, name: request.tools?.[0]?.name ?? 'missing', input: reply.input });
      return {
        status: 200,
        headers: { 'request-id': `req_${n}` },
        body: {
          id: `msg_${n}`,
          type: 'message',
          role: 'assistant',
          model: request.model,
          content,
          stop_reason: reply.kind === 'tool' ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 500, output_tokens: 64, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      };
    },
  };
}

export const startFakeAnthropic = (apiKey = 'sk-ant-test-key'): Promise<FakeModelServer> => startFakeModelServer(anthropicDialect(apiKey));
