import type { FastifyReply } from 'fastify';
import type { Bus } from '@vigil/bus';
import type { Cache } from '@vigil/cache';
import { isVigilError } from '@vigil/errors';
import type { VigilEvent } from '@vigil/events';
import type { Logger } from '@vigil/platform';
import type { Endpoint, IngestMetrics } from '../metrics.js';

export interface IngestDeps {
  bus: Bus;
  cache: Cache;
  metrics: IngestMetrics;
  log: Logger;
  /** How long a delivery id is remembered, to acknowledge redeliveries without publishing again. */
  redeliveryMemoryMs: number;
  /** Retry-After (seconds) when the bus cannot take the events. */
  retryAfterSeconds: number;
}

export type PublishOutcome = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Publishes the events of one request and resolves only once JetStream has stored every one of
 * them: the sender gets its 2xx after that, and a 503 with Retry-After if the bus cannot take
 * them (the sender retries; event ids are deterministic, so a retry never stores twice).
 */
export async function publishAll(deps: IngestDeps, endpoint: Endpoint, events: readonly VigilEvent[]): Promise<PublishOutcome> {
  try {
    let stored = 0;
    for (const event of events) {
      const { duplicate } = await deps.bus.publish(event);
      if (!duplicate) stored++;
      deps.log.info({ endpoint, type: event.type, eventId: event.id, duplicate }, duplicate ? 'already stored' : 'alert event stored');
    }
    // A request whose every event was already stored is a retry: count it as such.
    if (stored === 0) deps.metrics.count(endpoint, 'duplicate', 'event_id');
    else deps.metrics.count(endpoint, 'accepted', events[0]?.type ?? 'event');
    return { ok: true };
  } catch (error) {
    if (isVigilError(error, 'BUS_UNAVAILABLE')) {
      deps.log.warn({ endpoint, err: error }, 'bus unavailable; asking the sender to retry');
      deps.metrics.count(endpoint, 'unavailable', 'bus_unavailable');
      return { ok: false, retryAfterSeconds: deps.retryAfterSeconds };
    }
    throw error;
  }
}

/** A redelivered request (same delivery id) seen recently: acknowledge it without publishing. */
export async function seenBefore(deps: IngestDeps, deliveryKey: string | undefined): Promise<boolean> {
  if (deliveryKey === undefined) return false;
  return (await deps.cache.get(`delivery:${deliveryKey}`)) !== null;
}

/** Remembers a delivery id after its events were stored (never before: a failure must be retried). */
export async function remember(deps: IngestDeps, deliveryKey: string | undefined): Promise<void> {
  if (deliveryKey === undefined) return;
  await deps.cache.setIfAbsent(`delivery:${deliveryKey}`, '1', deps.redeliveryMemoryMs).catch((error: unknown) => {
    // Forgetting only means a later redelivery is de-duplicated by event id instead.
    deps.log.warn({ err: error }, 'could not remember delivery id');
  });
}

export function unavailable(reply: FastifyReply, retryAfterSeconds: number, body: object): FastifyReply {
  return reply.code(503).header('retry-after', String(retryAfterSeconds)).send(body);
}
