import { pino, type Logger } from 'pino';

export type { Logger };

/** Fields that may carry credentials; pino replaces them wherever they appear in a log object. */
const redactPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-pagerduty-signature"]',
  'req.headers["x-slack-signature"]',
];

/** JSON logs, one object per line, carrying the service name; `incidentId` via child loggers. */
export function createLogger(options: { service: string; version?: string; level?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, ...(options.version ? { version: options.version } : {}) },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
