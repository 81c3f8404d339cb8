import type { Bus, EventHandler } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { createEvent, deterministicUuidv7 } from '@vigil/events';
import { searchRunbooks } from '../runbook-store.js';

/**
 * `context.requested` → `context.retrieved`: the runbooks that match the hypothesis, best first,
 * each with its score, cited section and remedy. The answer's id derives from the request's, so a
 * redelivery publishes the same answer, stored once.
 */
export function createContextRequestedHandler(deps: { bus: Bus; db: Db }): EventHandler<'context.requested'> {
  return async (request, ctx) => {
    const matches = await searchRunbooks(deps.db, {
      query: request.data.query,
      service: request.data.service,
      ...(request.data.alertName ? { alertName: request.data.alertName } : {}),
      limit: request.data.limit,
    });
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
