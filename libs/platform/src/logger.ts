import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values are credentials, compared case-insensitively at any depth. */
const secretKeys = new Set([
  'password',
  'passwd',
  'pass',
  'secret',
  'token',
  'apikey',
  'api_key',
  'authorization',
  'cookie',
  'set-cookie',
  'x-pagerduty-signature',
  'x-slack-signature',
  'x-api-key',
  'client_secret',
  'private_key',
  'routing_key',
]);

const CREDENTIALS_IN_URL = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*(?::[^\s@]*)?@/gi;

/**
 * Replaces credentials wherever they sit in a log object: values under secret-looking keys (any
 * depth, any case) and `user:password@` inside URLs in strings. Objects are copied, never changed.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(CREDENTIALS_IN_URL, '$1[redacted]@');
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrub(value.message, depth + 1), ...(value.stack ? { stack: scrub(value.stack, depth + 1) } : {}) };
  }
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = secretKeys.has(key.toLowerCase()) ? '[redacted]' : scrub(item, depth + 1);
  }
  return out;
}

/** Scrubs one serialised log line (pino writes exactly one JSON object per write). */
export function scrubLine(line: string): string {
  try {
    return `${JSON.stringify(scrub(JSON.parse(line)))}\n`;
  } catch {
    return line.replace(CREDENTIALS_IN_URL, '$1[redacted]@');
  }
}

/**
 * JSON logs, one object per line, carrying the service name; `incidentId` via child loggers.
 * Every line is scrubbed on its way out, so credentials in bindings, objects and messages alike
 * never reach the output (pino's own redaction reaches only fixed paths).
 */
export function createLogger(options: { service: string; version?: string; level?: string; destination?: pino.DestinationStream }): Logger {
  // Synchronous stdout: the last lines before an exit are not lost.
  const target = options.destination ?? pino.destination(1);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, ...(options.version ? { version: options.version } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    { write: (line: string) => void target.write(scrubLine(line)) },
  );
}
