import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createMetrics } from './metrics.js';
import { checkoutPage, confirmedPage, failedPage } from './pages.js';
import { catalogue, StoreError, type Item, type OrdersStore } from './store.js';

const CheckoutForm = z.object({
  item: z.enum(Object.keys(catalogue) as [Item, ...Item[]], { error: `item must be one of ${Object.keys(catalogue).join(', ')}` }),
  quantity: z.coerce
    .number({ error: 'quantity must be a number' })
    .int('quantity must be a whole number')
    .min(1, 'quantity must be at least 1')
    .max(99, 'quantity must be at most 99'),
});

const html = 'text/html; charset=utf-8';

/** The HTTP service around a store: wiring only, no environment reads and no listen(). */
export function buildApp(options: { store: OrdersStore; logLevel?: string }): FastifyInstance {
  const { store } = options;
  // Monitors call /health every few seconds: failures are logged by the routes, not every request.
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
  });
  const metrics = createMetrics(store);
  const started = new WeakMap<object, number>();

  // Browsers post the checkout form urlencoded; Fastify parses only JSON by itself.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook('onRequest', async (request) => void started.set(request, performance.now()));
  app.addHook('onResponse', async (request, reply) => {
    const start = started.get(request);
    if (start === undefined) return;
    metrics.requestSeconds.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      (performance.now() - start) / 1000,
    );
  });

  app.get('/', async (_request, reply) => reply.redirect('/checkout'));

  // Started and schema ready; says nothing about locks. /health is the deep check.
  app.get('/readyz', async () => ({ ok: true, database: store.kind }));

  app.get('/health', async (_request, reply) => {
    const start = performance.now();
    const dbMs = (): number => Math.round((performance.now() - start) * 10) / 10;
    try {
      await store.probe();
      metrics.health.set(1);
      return { ok: true, db_ms: dbMs(), database: store.kind, pool: store.pool() };
    } catch (error) {
      metrics.health.set(0);
      const failure = error instanceof StoreError ? error.failure : 'unavailable';
      app.log.warn({ failure, err: error }, 'health check failed');
      return reply
        .code(503)
        .send({ ok: false, error: (error as Error).message, failure, db_ms: dbMs(), database: store.kind, pool: store.pool() });
    }
  });

  app.get('/checkout', async (_request, reply) => reply.type(html).send(checkoutPage()));

  app.post('/checkout', async (request, reply) => {
    const form = CheckoutForm.safeParse(request.body ?? {});
    if (!form.success) {
      metrics.checkouts.inc({ outcome: 'rejected' });
      return reply
        .code(400)
        .type(html)
        .send(failedPage(form.error.issues.map((i) => i.message).join('; ')));
    }
    try {
      const order = await store.checkout(form.data.item, form.data.quantity);
      metrics.checkouts.inc({ outcome: 'confirmed' });
      return reply.type(html).send(confirmedPage(order));
    } catch (error) {
      metrics.checkouts.inc({ outcome: 'failed' });
      app.log.warn({ err: error }, 'checkout failed');
      return reply
        .code(503)
        .type(html)
        .send(failedPage((error as Error).message));
    }
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.addHook('onClose', async () => store.close());
  return app;
}
