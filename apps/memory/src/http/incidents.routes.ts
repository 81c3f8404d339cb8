import type { FastifyInstance } from 'fastify';
import type { Db } from '@vigil/db';
import { standingAt } from '../domain/learning.js';
import { getLearnedIncident } from '../incident-store.js';

/** `GET /incidents/:id`: what memory learned from one resolved incident, with its provenance. */
export function incidentRoutes(db: Db, clock: () => Date) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { id: string } }>('/incidents/:id', async (request, reply) => {
      const record = await getLearnedIncident(db, request.params.id);
      if (!record) return reply.code(404).send({ error: `no resolved incident ${request.params.id} is known to memory` });
      return { ...record, standing: standingAt(record, clock()) };
    });
  };
}
