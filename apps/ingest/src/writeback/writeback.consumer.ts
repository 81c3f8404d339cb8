import type { ConsumeOptions, EventHandler, HandlerContext, HandlerMap } from '@vigil/bus';
import type { Cache } from '@vigil/cache';
import { isVigilError, VigilError } from '@vigil/errors';
import type { VigilEvent } from '@vigil/events';
import { formatNote, noteTypes, type NoteType } from './notes.js';
import type { PagerDutyRest } from './pagerduty-rest.client.js';

export interface WriteBackDeps {
  pagerduty: PagerDutyRest;
  /** Holds the Vigil incident → PagerDuty incident mapping and which effects already happened. */
  cache: Cache;
  /** How long the mapping and the done-markers live. Default 30 days (incidents stay open for days). */
  memoryMs?: number;
}

/** Durable name: its own consumer, so write-back lag never holds up ingest's other work. */
export const writeBackDurable = 'ingest-pagerduty-writeback';

/** Recorded for an incident that did not come from PagerDuty: its notes have nowhere to go. */
const NONE = '';
const mappingKey = (incidentId: string): string => `pd-incident:${incidentId}`;
const doneKey = (eventId: string, effect: 'note' | 'resolve'): string => `pd-writeback:${eventId}:${effect}`;

/**
 * Writes Vigil's decisions back to the PagerDuty incident the alert came from: a note per
 * decision and a resolve on RESOLVED. Incidents with no PagerDuty id are ignored. A 429 or a
 * 5xx is retryable (the bus redelivers, after Retry-After for a 429); any other 4xx is logged
 * and the note dropped, since asking again cannot help.
 */
export function createWriteBackConsumer(deps: WriteBackDeps): Omit<ConsumeOptions, 'durable'> & { durable: string } {
  const memoryMs = deps.memoryMs ?? 30 * 24 * 3600_000;

  // Each effect is marked done once PagerDuty accepted it, so a redelivery (after a 429 on the
  // resolve, or a lost ack) does not post the same note twice.
  const once = async (eventId: string, effect: 'note' | 'resolve', run: () => Promise<void>, ctx: HandlerContext): Promise<void> => {
    if ((await deps.cache.get(doneKey(eventId, effect))) !== null) return;
    try {
      await run();
    } catch (error) {
      if (isVigilError(error, 'PD_REJECTED')) {
        ctx.log.warn({ err: error, effect }, 'PagerDuty refused the write-back; dropped');
        return;
      }
      throw error;
    }
    await deps.cache.setIfAbsent(doneKey(eventId, effect), '1', memoryMs);
  };

  /**
   * The PagerDuty incident behind a Vigil incident; `NONE` for one that came from elsewhere. Not
   * known yet (null) means the incident's first event is still queued on its own consumer.
   */
  const pdIncidentFor = async (event: VigilEvent): Promise<string | null> =>
    event.incidentId === null ? NONE : deps.cache.get(mappingKey(event.incidentId));

  const noteHandler: EventHandler<NoteType> = async (event, ctx) => {
    // The closing events name the PagerDuty incident the incident has by then, also one it took on
    // after it opened (a PagerDuty trigger correlated with an alert from elsewhere): that one is
    // resolved too, though the notes before it had nowhere to go.
    const closing = event.type === 'incident.resolved' || event.type === 'incident.escalated' ? event.data.externalIncidentId : undefined;
    const pdIncidentId = closing ?? (await pdIncidentFor(event));
    if (pdIncidentId === NONE) return;
    if (pdIncidentId === null) {
      // Types are consumed independently: wait for the mapping rather than drop the note.
      throw new VigilError('PD_MAPPING_PENDING', `${event.type} for incident ${event.incidentId} before its investigation.requested`, {
        retryable: true,
        retryAfterMs: 1000,
      });
    }
    await once(event.id, 'note', () => deps.pagerduty.addNote(pdIncidentId, formatNote(event)), ctx);
    if (event.type === 'incident.resolved') {
      // `external`: PagerDuty resolved it itself; resolving again would only earn a 400.
      if (event.data.how !== 'external') {
        await once(event.id, 'resolve', () => deps.pagerduty.resolve(pdIncidentId, `Resolved by Vigil (${event.data.how})`), ctx);
      }
    }
    ctx.log.info({ pdIncidentId, type: event.type }, 'written back to PagerDuty');
  };

  const handlers: HandlerMap = {
    'investigation.requested': async (event, ctx) => {
      if (event.incidentId === null) return;
      const pdIncidentId = event.data.externalIncidentId ?? NONE;
      await deps.cache.setIfAbsent(mappingKey(event.incidentId), pdIncidentId, memoryMs);
      ctx.log.debug({ pdIncidentId }, 'PagerDuty incident mapped');
    },
  };
  for (const type of noteTypes) (handlers as Record<NoteType, EventHandler<NoteType>>)[type] = noteHandler;

  // One at a time per type. Across types the bus gives no order; the notes still follow the
  // decisions because each decision answers the previous one, seconds apart.
  return { durable: writeBackDurable, concurrency: 1, handlers };
}
