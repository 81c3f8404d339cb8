import Anthropic from '@anthropic-ai/sdk';
import { ProviderUnavailableError, unavailableFromStatus, type ModelProvider, type ModelRequest, type ModelResponse } from './provider.js';

export interface AnthropicOptions {
  apiKey: string;
  model: string;
  baseURL?: string;
  timeoutMs: number;
  maxTokens?: number;
}

/**
 * Claude through the official SDK, answering with a forced tool call. The SDK's own retries are
 * off: an unavailable model falls through to the next provider instead of holding the incident.
 */
export function createAnthropicProvider(options: AnthropicOptions): ModelProvider {
  const client = new Anthropic({ apiKey: options.apiKey, baseURL: options.baseURL ?? null, timeout: options.timeoutMs, maxRetries: 0 });
  const name = `anthropic:${options.model}`;
  return {
    name,
    async complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse> {
      const messages: Anthropic.MessageParam[] = request.messages.map((m) => {
        if (m.role === 'assistant') {
          const content: Anthropic.ContentBlockParam[] = [];
          if (m.text) content.push({ type: 'text', text: m.text });
          if (m.toolUse) content.push({ type: 'tool_use', id: m.toolUse.id, name: request.tool.name, input: m.toolUse.input });
          return { role: 'assistant', content };
        }
        const content: Anthropic.ContentBlockParam[] = [];
        if (m.toolResult)
          content.push({ type: 'tool_result', tool_use_id: m.toolResult.toolUseId, content: m.toolResult.error, is_error: true });
        if (m.text) content.push({ type: 'text', text: m.text });
        return { role: 'user', content };
      });
      let message: Anthropic.Message;
      try {
        message = await client.messages.create(
          {
            model: options.model,
            max_tokens: options.maxTokens ?? 4096,
            system: request.system,
            messages,
            tools: [
              {
                name: request.tool.name,
                description: request.tool.description,
                input_schema: request.tool.inputSchema as Anthropic.Tool.InputSchema,
              },
            ],
            tool_choice: { type: 'tool', name: request.tool.name },
          },
          signal ? { signal } : undefined,
        );
      } catch (err) {
        throw classify(name, err);
      }
      const text = message.content
        .filter((b): b is Anthropic.TextBlock => b.type === 'text')
        .map((b) => b.text)
        .join('\n');
      const tool = message.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use' && b.name === request.tool.name);
      return {
        text,
        ...(tool ? { toolUse: { id: tool.id, input: tool.input } } : {}),
        usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens },
      };
    },
  };
}

/** 408, 429, 5xx (529 overloaded included), timeouts and connection failures mean "try the next one". */
function classify(provider: string, err: unknown): unknown {
  if (err instanceof Anthropic.APIConnectionTimeoutError) return new ProviderUnavailableError(provider, 'timed out');
  if (err instanceof Anthropic.APIConnectionError) return new ProviderUnavailableError(provider, 'connection failed');
  if (err instanceof Anthropic.APIError && typeof err.status === 'number')
    return unavailableFromStatus(provider, err.status, err.headers?.get('retry-after'), err.status === 529 ? ' (overloaded)' : '') ?? err;
  return err;
}
