import type { FastifyInstance } from 'fastify';
import type { IngestConfig } from './config.js';
import { alertmanagerRoutes } from './http/alertmanager.route.js';
import { eventsV2Routes } from './http/events-v2.route.js';
import type { IngestDeps } from './http/intake.js';
import { pagerDutyWebhookRoutes } from './http/pagerduty-webhook.route.js';

/** ingest's HTTP routes, wired from its dependencies; no env reads, no listen(). */
export function buildIngestRoutes(
  deps: IngestDeps,
  config: Pick<IngestConfig, 'PAGERDUTY_WEBHOOK_SECRETS' | 'VIGIL_ROUTING_KEYS' | 'ALERTMANAGER_TOKEN'>,
) {
  return async (app: FastifyInstance): Promise<void> => {
    await app.register(pagerDutyWebhookRoutes(deps, config.PAGERDUTY_WEBHOOK_SECRETS));
    await app.register(eventsV2Routes(deps, config.VIGIL_ROUTING_KEYS));
    await app.register(alertmanagerRoutes(deps, config.ALERTMANAGER_TOKEN));
  };
}
