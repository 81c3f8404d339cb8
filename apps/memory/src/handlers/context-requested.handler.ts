import type { Bus, EventHandler } from '@vigil/bus';
import { createEvent, deterministicUuidv7 } from '@vigil/events';
import type { Retrieval } from '../knowledge/retrieval.js';

/**
 * `context.requested` → `context.retrieved`: the runbooks and past incidents that match the
 * hypothesis, best first, each with its score and citation; a runbook with its remedy, a past
 * incident with its standing (proven, candidate or ineffective). External knowledge sources
 * (Sanity, Senso) add their matches when configured; one that fails is left out, never the answer.
 * The answer's id derives from the request's, so a redelivery publishes the same answer, stored once.
 */
export function createContextRequestedHandler(deps: { bus: Bus; retrieval: Retrieval }): EventHandler<'context.requested'> {
  return async (request, ctx) => {
    const matches = await deps.retrieval.search(
      {
        query: request.data.query,
        service: request.data.service,
        ...(request.data.alertName ? { alertName: request.data.alertName } : {}),
        limit: request.data.limit,
      },
      ctx.log,
    );
    await deps.bus.publish(
      createEvent(
        'context.retrieved',
        { query: request.data.query, matches },
        {
          source: 'memory',
          incidentId: request.incidentId,
          causedBy: request,
          id: deterministicUuidv7(`memory:${request.id}`, Date.parse(request.occurredAt)),
        },
      ),
    );
    ctx.log.info({ matches: matches.length, best: matches[0]?.citation.documentId, score: matches[0]?.score }, 'context sent');
  };
}
