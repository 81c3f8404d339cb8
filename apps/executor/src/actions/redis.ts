import { Redis } from 'ioredis';
import { z } from 'zod';
import { describeTarget } from '@vigil/catalog';
import { defineAction, type ActionContext, type ActionResult } from './action.js';

async function withRedis<T>(ctx: ActionContext, timeoutMs: number, work: (client: Redis) => Promise<T>): Promise<T> {
  const url = ctx.targets.redis;
  if (!url) throw new Error(`${ctx.service} declares no executor.redis target in the service catalog`);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    throw new Error(`${describeTarget(url)}: ${(error as Error).message}`, { cause: error });
  } finally {
    client.disconnect();
  }
}

const MAX_KEYS = 1000;
const quote = (word: string): string => (/^[A-Za-z0-9_:./@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

const UnlinkParams = z
  .strictObject({
    keys: z.array(z.string().min(1)).min(1).max(MAX_KEYS).optional(),
    /** A SCAN MATCH pattern; it must name a prefix, never everything. */
    pattern: z
      .string()
      .min(1)
      .refine(
        (p) => /^[^*?[\]]{3,}/.test(p),
        'a pattern must start with at least 3 literal characters (e.g. "session:*"), never match everything',
      )
      .optional(),
    /** The most keys a pattern may remove; more matches → refused. */
    max: z.number().int().min(1).max(MAX_KEYS).default(100),
  })
  .refine((p) => (p.keys === undefined) !== (p.pattern === undefined), 'give either keys or pattern');

async function keysFor(client: Redis, params: z.infer<typeof UnlinkParams>): Promise<{ keys: string[]; more: boolean }> {
  if (params.keys) {
    const exists = await Promise.all(params.keys.map((k) => client.exists(k)));
    return { keys: params.keys.filter((_, i) => exists[i] === 1), more: false };
  }
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', params.pattern as string, 'COUNT', 500);
    cursor = next;
    for (const key of batch) found.add(key);
  } while (cursor !== '0' && found.size <= params.max);
  return { keys: [...found].slice(0, params.max), more: found.size > params.max };
}

export const unlinkKeys = defineAction({
  name: 'redis.unlink_keys',
  description: 'Removes named keys (or keys matching a narrow pattern) with UNLINK, bounded in count.',
  params: UnlinkParams,
  risk: 'MEDIUM',
  blastRadius: 'the listed keys, at most `max` (data: not restorable)',
  timeoutMs: 15_000,
  commands: (params) => [
    { language: 'shell', text: `redis-cli UNLINK ${(params.keys ?? [params.pattern as string]).map(quote).join(' ')}` },
  ],
  preconditions: async (params, ctx) =>
    withRedis(ctx, 15_000, async (client) => {
      const { keys, more } = await keysFor(client, params);
      if (more) return [`more than ${params.max} keys match ${params.pattern}: refusing to remove an unbounded set`];
      if (keys.length === 0) return ['none of the keys exists: nothing to remove'];
      return [];
    }),
  dryRun: async (params, ctx) =>
    withRedis(ctx, 15_000, async (client) => {
      const { keys } = await keysFor(client, params);
      return `would UNLINK ${keys.length} key(s): ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}`;
    }),
  run: async (params, ctx): Promise<ActionResult> =>
    withRedis(ctx, 15_000, async (client) => {
      const { keys, more } = await keysFor(client, params);
      if (more) return { status: 'failed', summary: `more than ${params.max} keys match now: nothing removed` };
      let removed = 0;
      for (let i = 0; i < keys.length; i += 100) removed += await client.unlink(...keys.slice(i, i + 100));
      return { status: 'succeeded', summary: `unlinked ${removed} key(s)` };
    }),
});

/** The settings an incident may change, each with what a valid value looks like. */
const configurable: Record<string, z.ZodType<string>> = {
  maxmemory: z.string().regex(/^\d+(?:[kmg]b?)?$/i, 'bytes, or a size like 512mb'),
  'maxmemory-policy': z.enum([
    'noeviction',
    'allkeys-lru',
    'allkeys-lfu',
    'allkeys-random',
    'volatile-lru',
    'volatile-lfu',
    'volatile-random',
    'volatile-ttl',
  ]),
  timeout: z.string().regex(/^\d+$/, 'seconds'),
  maxclients: z.string().regex(/^\d+$/, 'a number'),
  'slowlog-log-slower-than': z.string().regex(/^-?\d+$/, 'microseconds'),
  'lazyfree-lazy-eviction': z.enum(['yes', 'no']),
};

const ConfigParams = z
  .strictObject({ key: z.string().min(1), value: z.union([z.string(), z.number()]).transform(String) })
  .superRefine((p, issue) => {
    const rule = Object.hasOwn(configurable, p.key) ? configurable[p.key] : undefined;
    if (!rule) {
      issue.addIssue({
        code: 'custom',
        path: ['key'],
        message: `${p.key} is not one of the settings Vigil may change (${Object.keys(configurable).join(', ')})`,
      });
      return;
    }
    const checked = rule.safeParse(p.value);
    if (!checked.success)
      issue.addIssue({ code: 'custom', path: ['value'], message: `${p.key}: ${checked.error.issues[0]?.message ?? 'invalid'}` });
  });

export const configSet = defineAction({
  name: 'redis.config_set',
  description: 'Changes one whitelisted Redis setting at runtime; the inverse restores the old value.',
  params: ConfigParams,
  risk: 'LOW',
  blastRadius: 'one runtime setting of one Redis server (not persisted to its config file)',
  timeoutMs: 10_000,
  commands: ({ key, value }) => [{ language: 'shell', text: `redis-cli CONFIG SET ${quote(key)} ${quote(value)}` }],
  preconditions: async ({ key }, ctx) =>
    withRedis(ctx, 10_000, async (client) => {
      const current = (await client.config('GET', key)) as string[];
      return current.length === 2 ? [] : [`the server does not know the setting ${key}`];
    }),
  dryRun: async ({ key, value }, ctx) =>
    withRedis(ctx, 10_000, async (client) => {
      const [, old] = (await client.config('GET', key)) as string[];
      return `would run CONFIG SET ${key} ${value} on ${describeTarget(ctx.targets.redis ?? '')} (now ${old ?? 'unset'})`;
    }),
  run: async ({ key, value }, ctx): Promise<ActionResult> =>
    withRedis(ctx, 10_000, async (client) => {
      const [, old] = (await client.config('GET', key)) as string[];
      await client.config('SET', key, value);
      return {
        status: 'succeeded',
        summary: `${key}: ${old ?? 'unset'} → ${value}`,
        ...(old !== undefined
          ? {
              compensation: {
                kind: 'action' as const,
                id: `restore-${key}`,
                action: 'redis.config_set',
                params: { key, value: old },
                reasoning: `restore ${key} to ${old}`,
              },
            }
          : {}),
      };
    }),
});
