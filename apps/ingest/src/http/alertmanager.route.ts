import type { FastifyInstance } from 'fastify';
import { bearerToken, matchesAny } from '../domain/credentials.js';
import { fromAlertmanager } from '../domain/alertmanager.js';
import { safely } from '../domain/pagerduty-webhook.js';
import { publishAll, unavailable, type IngestDeps } from './intake.js';
import { rawJsonBodies } from './raw-json.js';

/**
 * `POST /webhooks/alertmanager` — Alertmanager's webhook receiver (version 4), authenticated by
 * `Authorization: Bearer <ALERTMANAGER_TOKEN>` (http_config.authorization in Alertmanager).
 */
export function alertmanagerRoutes(deps: IngestDeps, token: string | undefined) {
  return async (app: FastifyInstance): Promise<void> => {
    rawJsonBodies(app, (_request, reply, error) => {
      deps.metrics.count('alertmanager', 'rejected', error.reason);
      return reply.code(error.statusCode).send({ error: error.message });
    });

    app.post('/webhooks/alertmanager', async (request, reply) => {
      if (token === undefined) {
        deps.metrics.count('alertmanager', 'rejected', 'not_configured');
        return unavailable(reply, 300, { error: 'ALERTMANAGER_TOKEN is not set: this endpoint refuses every notification until it is' });
      }
      const presented = bearerToken(request.headers.authorization);
      if (presented === undefined) {
        deps.metrics.count('alertmanager', 'rejected', 'token_missing');
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Authorization: Bearer <token> is required' });
      }
      if (!matchesAny(presented, [token])) {
        deps.metrics.count('alertmanager', 'rejected', 'token_wrong');
        return reply.code(403).send({ error: 'the bearer token is not valid' });
      }
      const intake = safely(() => fromAlertmanager(request.body, new Date()));
      if (intake.outcome === 'invalid') {
        deps.metrics.count('alertmanager', 'rejected', 'schema');
        return reply.code(400).send({ error: 'not an Alertmanager webhook (version 4) payload', problems: intake.problems });
      }
      if (intake.outcome === 'ignored') {
        deps.metrics.count('alertmanager', 'ignored', 'empty');
        return reply.code(200).send({ status: 'ignored', reason: intake.reason });
      }
      const published = await publishAll(deps, 'alertmanager', intake.events);
      if (!published.ok) return unavailable(reply, published.retryAfterSeconds, { error: 'the event bus is unavailable; retry later' });
      return reply.code(200).send({ status: 'accepted', events: intake.events.map((e) => ({ id: e.id, type: e.type })) });
    });
  };
}
