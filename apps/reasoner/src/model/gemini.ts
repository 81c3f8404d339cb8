import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type Content, type GenerateContentResponse, type Part } from '@google/genai';
import { ProviderUnavailableError, unavailableFromStatus, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';

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
      const contents: Content[] = request.messages.map((m): Content => {
        if (m.role === 'assistant') {
          const parts: Part[] = m.text ? [{ text: m.text }] : [];
          // The model's own part, verbatim: it may carry a thought signature the API wants back.
          if (m.toolUse)
            parts.push(
              (m.toolUse.raw as Part | undefined) ?? {
                functionCall: { id: m.toolUse.id, name: request.tool.name, args: m.toolUse.input as Record<string, unknown> },
              },
            );
          return { role: 'model', parts };
        }
        const parts: Part[] = [];
        if (m.toolResult)
          parts.push({
            functionResponse: { id: m.toolResult.toolUseId, name: request.tool.name, response: { error: m.toolResult.error } },
          });
        if (m.text) parts.push({ text: m.text });
        return { role: 'user', parts };
      });
      let response: GenerateContentResponse;
      try {
        response = await client.models.generateContent({
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
      } catch (err) {
        throw classify(name, err, signal);
      }
      const parts = response.candidates?.[0]?.content?.parts ?? [];
      const callPart = parts.find((p) => p.functionCall?.name === request.tool.name);
      const call = callPart?.functionCall;
      const usage = response.usageMetadata;
      const inputTokens = usage?.promptTokenCount ?? 0;
      return {
        text: parts
          .map((p) => p.text ?? '')
          .filter(Boolean)
          .join('\n'),
        ...(call ? { toolUse: { id: call.id ?? `${name}:call`, input: call.args, raw: callPart } } : {}),
        // The total includes thinking and tool-prompt tokens, which the budget must count too.
        usage: { inputTokens, outputTokens: Math.max(0, (usage?.totalTokenCount ?? inputTokens) - inputTokens) },
      };
    },
  };
}

/** 408, 429 and 5xx, timeouts and refused connections mean "try the next one"; the rest is ours to fix. */
function classify(provider: string, err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof ApiError) return unavailableFromStatus(provider, err.status, undefined) ?? err;
  if (signal?.aborted) return err;
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))
    return new ProviderUnavailableError(provider, 'timed out');
  if (err instanceof TypeError && (err.message === 'fetch failed' || err.cause !== undefined))
    return new ProviderUnavailableError(provider, 'connection failed');
  return err;
}
