/** What one planning call asks of a model: a system prompt, the conversation, one tool to answer with. */
export interface ModelRequest {
  system: string;
  messages: ModelMessage[];
  tool: { name: string; description: string; inputSchema: Record<string, unknown> };
}

export type ModelMessage =
  | { role: 'user'; text: string; toolResult?: { toolUseId: string; error: string } }
  | { role: 'assistant'; text: string; toolUse?: ToolUse };

export interface ToolUse {
  id: string;
  input: unknown;
  /** The provider's own record of the call, echoed back verbatim in a repair turn (Gemini's thought signatures). */
  raw?: unknown;
}

export interface ModelResponse {
  /** The model's prose (its analysis), possibly empty. */
  text: string;
  /** The tool call carrying the plan, when the model made one. */
  toolUse?: ToolUse;
  usage: { inputTokens: number; outputTokens: number };
}

/** A model behind one port: Anthropic, Gemini, an OpenAI-compatible endpoint. */
export interface ModelProvider {
  /** `anthropic:claude-…`: recorded as the plan's `producedBy`. */
  readonly name: string;
  complete(request: ModelRequest, signal?: AbortSignal): Promise<ModelResponse>;
  /** Why a call now would not be sent (an open circuit); undefined (or absent) when it would. */
  refusal?(): string | undefined;
}

/**
 * The provider cannot answer now (429, 529, 5xx, timeout, connection refused): the next
 * provider in order is tried. Anything else (a 400, a 401) is a configuration error and is not
 * hidden behind a fallback.
 */
export class ProviderUnavailableError extends Error {
  constructor(
    readonly provider: string,
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${provider} unavailable: ${reason}`);
    this.name = 'ProviderUnavailableError';
  }
}

/** The breaker skipped the provider without sending anything: no budget is spent on it. */
export class CircuitOpenError extends ProviderUnavailableError {}

/**
 * What every provider does with an HTTP error: 408, 429 and 5xx mean "try the next one" (with
 * the vendor's retry-after, in seconds, when it sent one); anything else is not unavailability.
 */
export function unavailableFromStatus(
  provider: string,
  status: number,
  retryAfter: string | null | undefined,
  label = '',
): ProviderUnavailableError | undefined {
  if (status !== 408 && status !== 429 && status < 500) return undefined;
  const seconds = Number(retryAfter);
  return new ProviderUnavailableError(
    provider,
    `HTTP ${status}${label}`,
    Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
  );
}
