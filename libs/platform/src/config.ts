import { z } from 'zod';
import { VigilError } from '@vigil/errors';

const secrets = new WeakSet<z.ZodType>();

/**
 * Marks a config value as secret: never printed, not even in the error for a bad value.
 * Wrap the outermost schema: `secret(z.string().optional())`.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  secrets.add(schema);
  return schema;
}

function isSecret(schema: z.ZodType): boolean {
  return secrets.has(schema);
}

/** Common value shapes, with units in the variable names (`_MS`, `_SECONDS`). */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback),
  durationMs: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  count: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  flag: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  url: (protocols: readonly string[]) =>
    z.string().refine(
      (value) => {
        try {
          return value.split(',').every((part) => protocols.includes(new URL(part.trim()).protocol.replace(/:$/, '')));
        } catch {
          return false;
        }
      },
      `a ${protocols.join(' or ')} URL`,
    ),
  list: () =>
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export type ConfigShape = Record<string, z.ZodType>;

/**
 * Reads configuration from environment variables: the schema's keys are the variable names.
 * Every problem is reported at once, each naming its variable; secret values are never echoed.
 */
export function loadConfig<S extends ConfigShape>(shape: S, source: NodeJS.ProcessEnv = process.env): z.output<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = source[key];
    // An empty variable means "not set", as in docker-compose files with `VAR=`.
    input[key] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '(config)');
    const schema = shape[key];
    const raw = input[key];
    const shown = raw === undefined ? 'not set' : schema && isSecret(schema) ? 'value hidden' : `got ${JSON.stringify(raw)}`;
    return { variable: key, message: `${key}: ${issue.message} (${shown})` };
  });
  throw new VigilError('CONFIG_INVALID', `invalid configuration:\n  ${problems.map((p) => p.message).join('\n  ')}`, {
    details: { variables: problems.map((p) => p.variable) },
  });
}

/** The configuration with secrets replaced, for the start-up log line. */
export function describeConfig<S extends ConfigShape>(shape: S, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const schema = shape[key];
    out[key] = value !== undefined && schema && isSecret(schema) ? '[secret]' : value;
  }
  return out;
}
