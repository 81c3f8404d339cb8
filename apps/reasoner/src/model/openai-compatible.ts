import OpenAI from 'openai';
import { ProviderUnavailableError, unavailableFromStatus, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';

export interface OpenAICompatibleOptions {
  /** Ollama and vLLM accept any key; OpenAI itself needs a real one. */
  apiKey: string;
  model: string;
  /** e.g. http://127.0.0.1:11434/v1 for Ollama. */
  baseURL: string;
  timeoutMs: number;
  maxTokens?: number;
}

/**
 * Any endpoint speaking the Chat Completions API (OpenAI, Ollama, vLLM) through the `openai`
 * SDK, answering with a forced function call. No SDK retries: an unavailable model falls
 * through to the next provider.
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): ModelProvider {
  const client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, timeout: options.timeoutMs, maxRetries: 0 });
  const name = `openai-compatible:${options.model}`;
  return {
    name,
    async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: request.system }];
      for (const m of request.messages) {
        if (m.role === 'assistant') {
          messages.push({
            role: 'assistant',
            content: m.text || null,
            ...(m.toolUse
              ? {
                  tool_calls: [
                    {
                      id: m.toolUse.id,
                      type: 'function' as const,
                      function: { name: request.tool.name, arguments: JSON.stringify(m.toolUse.input) },
                    },
                  ],
                }
              : {}),
          });
          continue;
        }
        if (m.toolResult) messages.push({ role: 'tool', tool_call_id: m.toolResult.toolUseId, content: m.toolResult.error });
        if (m.text) messages.push({ role: 'user', content: m.text });
      }
      let completion: OpenAI.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model: options.model,
            max_tokens: options.maxTokens ?? 4096,
            messages,
            tools: [
              {
                type: 'function',
                function: { name: request.tool.name, description: request.tool.description, parameters: request.tool.inputSchema },
              },
            ],
            tool_choice: { type: 'function', function: { name: request.tool.name } },
          },
          signal ? { signal } : undefined,
        );
      } catch (err) {
        throw classify(name, err);
      }
      const message = completion.choices[0]?.message;
      const call = message?.tool_calls?.find((c) => c.type === 'function' && c.function.name === request.tool.name);
      let toolUse: ModelResponse['toolUse'];
      if (call?.type === 'function') {
        // Arguments arrive as a JSON string; a malformed one goes to the repair turn as it is.
        let input: unknown = call.function.arguments;
        try {
          input = JSON.parse(call.function.arguments);
        } catch {
          // left as text: validation names it
        }
        toolUse = { id: call.id, input };
      }
      return {
        text: message?.content ?? '',
        ...(toolUse ? { toolUse } : {}),
        usage: { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 },
      };
    },
  };
}

function classify(provider: string, err: unknown): unknown {
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new ProviderUnavailableError(provider, 'timed out');
  if (err instanceof OpenAI.APIConnectionError) return new ProviderUnavailableError(provider, 'connection failed');
  if (err instanceof OpenAI.APIError && typeof err.status === 'number')
    return unavailableFromStatus(provider, err.status, err.headers?.get('retry-after')) ?? err;
  return err;
}
