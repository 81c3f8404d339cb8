import { startFakeModelServer, type Dialect, type FakeModelServer, type Rendered } from './model-server.js';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  404: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  503: 'server_error',
};

const error = (status: number, message: string, headers?: Record<string, string>): Rendered => ({
  status,
  body: { error: { message, type: errorTypes[status] ?? 'server_error', param: null, code: status === 401 ? 'invalid_api_key' : null } },
  ...(headers ? { headers } : {}),
});

/** The Chat Completions API (POST {base}/chat/completions) as OpenAI, Ollama and vLLM serve it. */
export function openaiDialect(apiKey: string): Dialect {
  return {
    check({ method, url, headers }, body) {
      if (method !== 'POST' || url !== '/v1/chat/completions') return error(404, `no route ${method} ${url}`);
      if (headers.authorization !== `Bearer ${apiKey}`) return error(401, 'Incorrect API key provided.');
      const b = body as { model?: unknown; messages?: unknown } | undefined;
      if (typeof b?.model !== 'string' || !Array.isArray(b.messages) || b.messages.length === 0)
        return error(400, 'model and messages are required');
      const empty = (b.messages as Array<{ role: string; content?: unknown; tool_calls?: unknown[] }>).findIndex(
        (m) => m.role === 'assistant' && !m.content && !m.tool_calls?.length,
      );
      if (empty >= 0) return error(400, `messages[${empty}]: an assistant message needs content or tool_calls`);
      return undefined;
    },
    render(reply, body, n) {
      if (reply.kind === 'error')
        return error(reply.status, `scripted ${reply.status}`, reply.retryAfter ? { 'retry-after': String(reply.retryAfter) } : undefined);
      const request = body as { model: string; tools?: Array<{ function: { name: string } }> };
      const toolCalls =
        reply.kind === 'tool'
          ? [
              {
                id: `call_${n}`,
                type: 'function',
                function: { name: request.tools?.[0]?.function.name ?? 'missing', arguments: JSON.stringify(reply.input) },
              },
            ]
          : undefined;
      return {
        status: 200,
        body: {
          id: `chatcmpl-${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: reply.text ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}), refusal: null },
              finish_reason: toolCalls ? 'tool_calls' : 'stop',
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: 500, completion_tokens: 64, total_tokens: 564 },
        },
      };
    },
  };
}

export const startFakeOpenAI = (apiKey = 'sk-openai-test-key'): Promise<FakeModelServer> => startFakeModelServer(openaiDialect(apiKey));
