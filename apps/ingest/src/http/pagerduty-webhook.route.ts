import type { FastifyInstance } from 'fastify';
import { verifyPagerDutySignature } from '../domain/credentials.js';
import { fromPagerDutyWebhook } from '../domain/pagerduty-webhook.js';
import { safely } from '../domain/pagerduty-webhook.js';
import { publishAll, remember, seenBefore, unavailable, type IngestDeps } from './intake.js';
import { rawJsonBodies } from './raw-json.js';

/**
 * `POST /webhooks/pagerduty` — PagerDuty v3 webhooks. Signature first (401 missing, 403 wrong:
 * a 4xx PagerDuty does not retry); then de-duplication by X-Webhook-Id; 202 only once stored.
 */
export function pagerDutyWebhookRoutes(deps: IngestDeps, secrets: readonly string[]) {
  return async (app: FastifyInstance): Promise<void> => {
    rawJsonBodies(app, (_request, reply, error) => {
      deps.metrics.count('pagerduty', 'rejected', error.reason);
      return reply.code(error.statusCode).send({ error: error.message });
    });

    app.post('/webhooks/pagerduty', async (request, reply) => {
      if (secrets.length === 0) {
        deps.metrics.count('pagerduty', 'rejected', 'not_configured');
        return unavailable(reply, 300, {
          error: 'PAGERDUTY_WEBHOOK_SECRETS is not set: this endpoint refuses every webhook until the subscription secret is configured',
        });
      }
      const verdict = verifyPagerDutySignature(
        request.rawBody ?? Buffer.alloc(0),
        request.headers['x-pagerduty-signature'] as string | undefined,
        secrets,
      );
      if (verdict !== 'valid') {
        deps.metrics.count('pagerduty', 'rejected', `signature_${verdict}`);
        const status = verdict === 'missing' ? 401 : 403;
        return reply.code(status).send({
          error: `X-PagerDuty-Signature is ${verdict === 'missing' ? 'missing' : verdict === 'malformed' ? 'malformed' : 'not valid for any configured secret'}`,
        });
      }
      const webhookId = (request.headers['x-webhook-id'] as string | undefined) ?? undefined;
      const deliveryKey = webhookId === undefined ? undefined : `pagerduty:${webhookId}`;
      if (await seenBefore(deps, deliveryKey)) {
        deps.metrics.count('pagerduty', 'duplicate', 'redelivery');
        return reply.code(202).send({ status: 'duplicate' });
      }
      const intake = safely(() => fromPagerDutyWebhook(request.body));
      if (intake.outcome === 'invalid') {
        deps.metrics.count('pagerduty', 'rejected', 'schema');
        return reply.code(400).send({ error: 'not a PagerDuty v3 webhook this endpoint understands', problems: intake.problems });
      }
      if (intake.outcome === 'ignored') {
        deps.metrics.count('pagerduty', 'ignored', 'event_type');
        void remember(deps, deliveryKey);
        return reply.code(202).send({ status: 'ignored', reason: intake.reason });
      }
      const published = await publishAll(deps, 'pagerduty', intake.events);
      if (!published.ok) return unavailable(reply, published.retryAfterSeconds, { error: 'the event bus is unavailable; retry later' });
      // Not awaited: the write is queued on the cache's connection ahead of any later look-up,
      // and a failure only leaves a redelivery to event-id de-duplication.
      void remember(deps, deliveryKey);
      return reply.code(202).send({ status: 'accepted', events: intake.events.map((e) => ({ id: e.id, type: e.type })) });
    });
  };
}
