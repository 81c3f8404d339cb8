/**
 * The one error type that crosses a boundary in Vigil. Callers branch on `code`, never on
 * `message`. `retryable` tells the bus (and HTTP edges) whether trying again can help;
 * `retryAfterMs` is a hint from the failing dependency (a 429's Retry-After, a backoff).
 */
export class VigilError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** Structured facts for logs and dead letters (field paths, limits). Never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      retryable?: boolean;
      retryAfterMs?: number;
      cause?: unknown;
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VigilError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isVigilError(error: unknown, code?: string): error is VigilError {
  return error instanceof VigilError && (code === undefined || error.code === code);
}

/** Normalises anything thrown into a VigilError; unknown errors are treated as retryable. */
export function toVigilError(error: unknown, fallbackCode = 'UNEXPECTED'): VigilError {
  if (error instanceof VigilError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VigilError(fallbackCode, message, { retryable: true, cause: error });
}
