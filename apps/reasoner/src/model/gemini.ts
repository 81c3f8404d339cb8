import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type Content } from '@google/genai';
import { ProviderUnavailableError, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';

export interface GeminiOptions {
  apiKey: string;
  model: string;
  baseURL?: string;
  timeoutMs: number;
  maxTokens?: number;
}

/**
 * Gemini through `@google/genai`, answering with a forced function call. No SDK retries: an
 * unavailable model falls through to the next provider.
 */
export function createGeminiProvider(options: GeminiOptions): ModelProvider {
  const client = new GoogleGenAI({
    apiKey: options.apiKey,
    httpOptions: { timeout: options.timeoutMs, ...(options.baseURL ? { baseUrl: options.baseURL } : {}) },
  });
  const name = `gemini:${options.model}`;
  return {
    name,
    async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
      const contents: Content[] = request.messages.map((m) => {
        if (m.role === 'assistant')
          return {
            role: 'model',
            parts: [
              ...(m.text ? [{ text: m.text }] : []),
              ...(m.toolUse
                ? [{ functionCall: { id: m.toolUse.id, name: request.tool.name, args: m.toolUse.input as Record<string, unknown> } }]
                : []),
            ],
          };
        return {
          role: 'user',
          parts: [
            ...(m.toolResult
              ? [{ functionResponse: { id: m.toolResult.toolUseId, name: request.tool.name, response: { error: m.toolResult.error } } }]
              : []),
            ...(m.text ? [{ text: m.text }] : []),
          ],
        };
      });
      try {
        const response = await client.models.generateContent({
          model: options.model,
          contents,
          config: {
            systemInstruction: request.system,
            maxOutputTokens: options.maxTokens ?? 4096,
            tools: [
              {
                functionDeclarations: [
                  { name: request.tool.name, description: request.tool.description, parametersJsonSchema: request.tool.inputSchema },
                ],
              },
            ],
            toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: [request.tool.name] } },
            ...(signal ? { abortSignal: signal } : {}),
          },
        });
        const parts = response.candidates?.[0]?.content?.parts ?? [];
        const call = parts.find((p) => p.functionCall?.name === request.tool.name)?.functionCall;
        return {
          text: parts
            .map((p) => p.text ?? '')
            .filter(Boolean)
            .join('\n'),
          ...(call ? { toolUse: { id: call.id ?? `${name}:call`, input: call.args } } : {}),
          usage: {
            inputTokens: response.usageMetadata?.promptTokenCount ?? 0,
            outputTokens: response.usageMetadata?.candidatesTokenCount ?? 0,
          },
        };
      } catch (err) {
        throw classify(name, err, signal);
      }
    },
  };
}

function classify(provider: string, err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof ApiError) {
    if (err.status === 429 || err.status >= 500) return new ProviderUnavailableError(provider, `HTTP ${err.status}`);
    return err;
  }
  if (signal?.aborted) return err;
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError' || /abort|timed? ?out/i.test(err.message)))
    return new ProviderUnavailableError(provider, 'timed out');
  if (err instanceof TypeError) return new ProviderUnavailableError(provider, 'connection failed');
  return err;
}
