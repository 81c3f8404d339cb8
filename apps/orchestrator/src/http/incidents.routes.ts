import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '@vigil/db';
import { stages } from '../domain/incident.js';
import { verifyChain } from '../domain/timeline-hash.js';
import { processInput, type SagaDeps } from '../saga-runner.js';
import { listIncidents, readIncident, readTimeline } from '../store/incident-store.js';
import { matchToken } from './api-tokens.js';

const ListQuery = z.object({
  stage: z.enum(stages).optional(),
  service: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const EscalateBody = z.object({ reason: z.string().min(1).max(2000) });

function badRequest(reply: FastifyReply, error: z.ZodError): FastifyReply {
  return reply
    .code(400)
    .send({ error: 'invalid request', problems: error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) });
}

/**
 * The incident API. With ORCHESTRATOR_API_TOKENS set, every call needs `Authorization: Bearer`
 * with one of them, and the token names the person; without it, reads are open and escalation
 * is refused (it must say who escalated).
 */
export function incidentRoutes(deps: SagaDeps & { db: Db }, tokens: ReadonlyMap<string, string>) {
  const person = (request: FastifyRequest): string | undefined => matchToken(request.headers.authorization, tokens);
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', async (request, reply) => {
      if (tokens.size > 0 && person(request) === undefined) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a valid API token is required (Authorization: Bearer <token>)' });
      }
      return undefined;
    });

    app.get('/incidents', async (request, reply) => {
      const query = ListQuery.safeParse(request.query);
      if (!query.success) return badRequest(reply, query.error);
      return { incidents: await listIncidents(deps.db, query.data) };
    });

    app.get<{ Params: { id: string } }>('/incidents/:id', async (request, reply) => {
      const incident = await readIncident(deps.db, request.params.id);
      if (!incident) return reply.code(404).send({ error: `no incident ${request.params.id}` });
      const timeline = await readTimeline(deps.db, incident.id);
      return { incident, timeline, chain: verifyChain(timeline) };
    });

    app.post<{ Params: { id: string } }>('/incidents/:id/escalate', async (request, reply) => {
      if (tokens.size === 0) {
        return reply.code(503).send({ error: 'ORCHESTRATOR_API_TOKENS is not set: escalation needs to know who asks (name:token pairs)' });
      }
      const body = EscalateBody.safeParse(request.body ?? {});
      if (!body.success) return badRequest(reply, body.error);
      const incident = await readIncident(deps.db, request.params.id);
      if (!incident) return reply.code(404).send({ error: `no incident ${request.params.id}` });
      const by = person(request) ?? 'unknown';
      const outcome = await processInput(deps, { kind: 'escalate', incidentId: incident.id, by, reason: body.data.reason });
      const after = outcome.duplicate ? incident : (outcome.result?.incident ?? incident);
      if (outcome.duplicate || outcome.result?.ignored)
        return reply.code(409).send({ error: `the incident is already ${after.stage}`, incident: after });
      return reply.code(200).send({ incident: after });
    });
  };
}
