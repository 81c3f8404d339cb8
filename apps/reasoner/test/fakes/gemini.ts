import { startFakeModelServer, type Dialect, type FakeModelServer, type Rendered } from './model-server.js';

const statuses: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const error = (code: number, message: string, headers?: Record<string, string>): Rendered => ({
  status: code,
  body: { error: { code, message, status: statuses[code] ?? 'UNKNOWN' } },
  ...(headers ? { headers } : {}),
});

/** The Gemini API's generateContent (POST /v1beta/models/{model}:generateContent), as documented. */
export function geminiDialect(apiKey: string): Dialect {
  return {
    check({ method, url, headers }, body) {
      if (method !== 'POST' || !/^\/v1beta\/models\/[^/:]+:generateContent$/.test(url)) return error(404, `no route ${method} ${url}`);
      if (headers['x-goog-api-key'] !== apiKey) return error(403, 'API key not valid. Please pass a valid API key.');
      const b = body as { contents?: unknown } | undefined;
      if (!Array.isArray(b?.contents) || b.contents.length === 0) return error(400, 'contents is required');
      const empty = (b.contents as Array<{ parts?: unknown[] }>).findIndex((c) => !Array.isArray(c.parts) || c.parts.length === 0);
      if (empty >= 0) return error(400, `contents[${empty}].parts: must not be empty`);
      return undefined;
    },
    render(reply, body, n) {
      if (reply.kind === 'error')
        return error(reply.status, `scripted ${reply.status}`, reply.retryAfter ? { 'retry-after': String(reply.retryAfter) } : undefined);
      const request = body as { tools?: Array<{ functionDeclarations?: Array<{ name: string }> }> };
      const parts: unknown[] = [];
      if (reply.text) parts.push({ text: reply.text });
      if (reply.kind === 'tool')
        parts.push({
          functionCall: { id: `call_${n}`, name: request.tools?.[0]?.functionDeclarations?.[0]?.name ?? 'missing', args: reply.input },
        });
      return {
        status: 200,
        body: {
          candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { promptTokenCount: 500, candidatesTokenCount: 64, totalTokenCount: 564 },
          modelVersion: 'gemini-fake',
          responseId: `resp_${n}`,
        },
      };
    },
  };
}

export const startFakeGemini = (apiKey = 'gemini-test-key'): Promise<FakeModelServer> => startFakeModelServer(geminiDialect(apiKey));
