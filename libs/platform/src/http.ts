import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';

export interface DependencyCheck {
  (): Promise<{ ok: boolean; detail: string }>;
}

export interface HttpOptions {
  service: string;
  version: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Readiness: each dependency (bus, db, cache, …) must answer. */
  dependencies: Record<string, DependencyCheck>;
  /** Where the console lives, linked from the status page. */
  consoleUrl?: string;
  bodyLimitBytes?: number;
}

const startedAt = Date.now();

async function checkAll(dependencies: Record<string, DependencyCheck>) {
  const entries = await Promise.all(
    Object.entries(dependencies).map(async ([name, check]) => {
      try {
        return [name, await check()] as const;
      } catch (error) {
        return [name, { ok: false, detail: (error as Error).message }] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * The HTTP surface every service has: `/healthz` (the process is alive), `/readyz` (its
 * dependencies answer), `/metrics` (Prometheus) and a small status page at `/`. Apps add their
 * own routes as Fastify plugins on the returned instance.
 */
export function createHttpServer(options: HttpOptions): FastifyInstance {
  const app = Fastify({
    // Fastify's logger type is narrower than pino's; the instance is the same pino logger, at
    // warn: a line per request would drown the one summary line per handled event.
    loggerInstance: options.logger.child(
      { component: 'http' },
      { level: options.logger.levelVal > 40 ? options.logger.level : 'warn' },
    ) as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    return503OnClosing: true,
  });

  app.get('/healthz', async () => ({ status: 'ok', service: options.service }));

  app.get('/readyz', async (_req, reply) => {
    const dependencies = await checkAll(options.dependencies);
    const ready = Object.values(dependencies).every((d) => d.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', dependencies });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });

  app.get('/', async (req, reply) => {
    const [dependencies, lag] = await Promise.all([checkAll(options.dependencies), options.metrics.lag()]);
    const status = {
      service: options.service,
      version: options.version,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      dependencies,
      consumers: lag,
      lastHandled: options.metrics.recentHandled,
      lastFailed: options.metrics.recentFailed,
    };
    if (!String(req.headers.accept ?? '').includes('text/html')) return status;
    return reply.type('text/html; charset=utf-8').send(renderStatusPage(status, options.consoleUrl));
  });

  return app;
}

function renderStatusPage(
  status: {
    service: string;
    version: string;
    uptimeSeconds: number;
    dependencies: Record<string, { ok: boolean; detail: string }>;
    consumers: Array<{ consumer: string; pending: number | null }>;
    lastHandled: readonly object[];
    lastFailed: readonly object[];
  },
  consoleUrl?: string,
): string {
  const rows = (items: readonly object[], columns: string[]): string =>
    items.length === 0
      ? `<tr><td colspan="${columns.length}">none yet</td></tr>`
      : items
          .map((item) => `<tr>${columns.map((c) => `<td>${escape((item as Record<string, unknown>)[c] ?? '')}</td>`).join('')}</tr>`)
          .join('');
  const head = (columns: string[]): string => `<tr>${columns.map((c) => `<th>${escape(c)}</th>`).join('')}</tr>`;
  const eventColumns = ['at', 'type', 'incidentId', 'settlement', 'durationMs', 'error'];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(status.service)} · Vigil</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}.ok{color:#1a7f37}.bad{color:#cf222e}</style></head><body>
<h1>${escape(status.service)} <small>${escape(status.version)}</small></h1>
<p>Up ${status.uptimeSeconds}s · <a href="/metrics">metrics</a> · <a href="/readyz">readiness</a>${
    consoleUrl ? ` · <a href="${escape(consoleUrl)}">incident console</a>` : ''
  }</p>
<h2>Dependencies</h2><table>${head(['name', 'status', 'detail'])}${Object.entries(status.dependencies)
    .map(
      ([name, d]) =>
        `<tr><td>${escape(name)}</td><td class="${d.ok ? 'ok' : 'bad'}">${d.ok ? 'ok' : 'down'}</td><td>${escape(d.detail)}</td></tr>`,
    )
    .join('')}</table>
<h2>Consumers</h2><table>${head(['consumer', 'pending'])}${rows(status.consumers, ['consumer', 'pending'])}</table>
<h2>Last events handled</h2><table>${head(eventColumns)}${rows(status.lastHandled, eventColumns)}</table>
<h2>Last events failed</h2><table>${head(eventColumns)}${rows(status.lastFailed, eventColumns)}</table>
</body></html>`;
}
