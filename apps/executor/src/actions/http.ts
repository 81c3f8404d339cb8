import { execFile } from 'node:child_process';
import { z } from 'zod';
import { describeTarget } from '@vigil/catalog';
import { defineAction, type ActionContext, type ActionResult } from './action.js';

const OUTPUT_LIMIT = 16_384;
const cut = (text: string): { text: string; truncated: boolean } =>
  text.length > OUTPUT_LIMIT ? { text: text.slice(0, OUTPUT_LIMIT), truncated: true } : { text, truncated: false };
const quote = (word: string): string => (/^[A-Za-z0-9_:./@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

const endpointOf = (name: string, ctx: ActionContext) => ctx.targets.endpoints[name];

export const httpRequest = defineAction({
  name: 'http.request',
  description: 'Calls one endpoint the service catalog declares for it (an admin hook: flush a cache, rotate a pool).',
  params: z.strictObject({ endpoint: z.string().min(1), body: z.record(z.string(), z.unknown()).optional() }),
  risk: 'MEDIUM',
  blastRadius: 'whatever the declared endpoint does (declared by the service owner)',
  timeoutMs: 15_000,
  commands: ({ endpoint }, ctx) => {
    const target = endpointOf(endpoint, ctx);
    return target ? [{ language: 'shell', text: `curl -X ${target.method} ${quote(describeTarget(target.url))}` }] : [];
  },
  preconditions: async ({ endpoint }, ctx) =>
    endpointOf(endpoint, ctx)
      ? []
      : [
          `${endpoint} is not an endpoint the service catalog declares for ${ctx.service} (declared: ${Object.keys(ctx.targets.endpoints).join(', ') || 'none'})`,
        ],
  dryRun: async ({ endpoint, body }, ctx) => {
    const target = endpointOf(endpoint, ctx);
    return `would ${target?.method ?? '?'} ${target ? describeTarget(target.url) : endpoint}${body ? ` with ${JSON.stringify(body)}` : ''}`;
  },
  run: async ({ endpoint, body }, ctx): Promise<ActionResult> => {
    const target = endpointOf(endpoint, ctx);
    if (!target) return { status: 'failed', summary: `${endpoint} is not declared` };
    const response = await fetch(target.url, {
      method: target.method,
      redirect: 'manual',
      signal: ctx.signal,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const { text, truncated } = cut(await response.text());
    return {
      status: response.ok ? 'succeeded' : 'failed',
      summary: `${target.method} ${describeTarget(target.url)} → ${response.status}`,
      output: { stdout: text, stderr: '', exitCode: null, truncated },
    };
  },
});

export const processRestart = defineAction({
  name: 'process.restart',
  description: 'Runs the supervisor command the service catalog declares for restarting the service (argv, no shell).',
  params: z.strictObject({}),
  risk: 'MEDIUM',
  blastRadius: 'one service restarted by its supervisor (in-flight requests may fail)',
  timeoutMs: 60_000,
  commands: (_params, ctx) => (ctx.targets.restart ? [{ language: 'shell', text: ctx.targets.restart.map(quote).join(' ') }] : []),
  preconditions: async (_params, ctx) =>
    ctx.targets.restart ? [] : [`${ctx.service} declares no executor.restart command in the service catalog`],
  dryRun: async (_params, ctx) => `would run ${ctx.targets.restart?.map(quote).join(' ') ?? '(nothing declared)'}`,
  run: (_params, ctx): Promise<ActionResult> =>
    new Promise((resolve) => {
      const [command, ...args] = ctx.targets.restart ?? [];
      if (!command) return resolve({ status: 'failed', summary: 'no restart command declared' });
      execFile(
        command,
        args,
        { signal: ctx.signal, maxBuffer: OUTPUT_LIMIT * 4, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 },
        (error, stdout, stderr) => {
          const out = cut(stdout);
          const err = cut(stderr);
          const exitCode = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          resolve({
            status: error ? 'failed' : 'succeeded',
            summary: error ? `${command} failed: ${error.message.split('\n')[0]}` : `ran ${[command, ...args].map(quote).join(' ')}`,
            output: { stdout: out.text, stderr: err.text, exitCode, truncated: out.truncated || err.truncated },
          });
        },
      );
    }),
});
