import { matchToken } from '@vigil/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '@vigil/db';
import { stages } from '../domain/incident.js';
import { verifyChain } from '@vigil/audit';
import { processInput, type SagaDeps } from '../saga-runner.js';
import { listIncidents, readIncident, readTimeline, readTimelineHead } from '../store/incident-store.js';
import { PolicyFile, policyFrom } from '../policy-file.js';
import { replayTimeline } from '../replay.js';

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
 * The incident API. Every call needs `Authorization: Bearer` with one of ORCHESTRATOR_API_TOKENS,
 * and the token names the person; without any configured, every call is refused.
 */
export function incidentRoutes(deps: SagaDeps & { db: Db }, tokens: ReadonlyMap<string, string>) {
  const person = (request: FastifyRequest): string | undefined => matchToken(request.headers.authorization, tokens);
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', async (request, reply) => {
      if (tokens.size === 0) {
        // Secure by default: incident records hold alerts, notes and evidence.
        return reply
          .code(503)
          .send({ error: 'ORCHESTRATOR_API_TOKENS is not set: the incident API refuses every call until it is (name:token pairs)' });
      }
      if (person(request) === undefined) {
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
      const [timeline, head] = await Promise.all([readTimeline(deps.db, incident.id), readTimelineHead(deps.db, incident.id)]);
      return { incident, timeline, head, chain: verifyChain(timeline, head ?? undefined) };
    });

    app.get<{ Params: { id: string } }>('/incidents/:id/export', async (request, reply) => {
      const incident = await readIncident(deps.db, request.params.id);
      if (!incident) return reply.code(404).send({ error: `no incident ${request.params.id}` });
      const [timeline, head] = await Promise.all([readTimeline(deps.db, incident.id), readTimelineHead(deps.db, incident.id)]);
      // The whole record: alert → evidence → plan → gate → approvals → commands → verification,
      // every entry hash-chained, so it can be checked anywhere with `vigil incidents verify`.
      return {
        format: 'vigil.incident-record/1',
        exportedAt: deps.clock().toISOString(),
        incident,
        timeline,
        head,
        chain: verifyChain(timeline, head ?? undefined),
      };
    });

    const replay = async (id: string, reply: FastifyReply, policyBody?: unknown) => {
      const incident = await readIncident(deps.db, id);
      if (!incident) return reply.code(404).send({ error: `no incident ${id}` });
      let config = deps.config;
      if (policyBody !== undefined) {
        const parsed = PolicyFile.safeParse(policyBody);
        if (!parsed.success) return badRequest(reply, parsed.error);
        const policy = policyFrom(parsed.data);
        config = {
          ...config,
          thresholdsFor: (svc) => policy.thresholdsFor(svc),
          autonomyFor: (svc, alert, action) => policy.autonomyFor(svc, alert, action),
        };
      }
      return replayTimeline(incident.id, await readTimeline(deps.db, incident.id), config, deps.safety);
    };
    // Re-runs the recorded inputs through the transition function: no side effects.
    app.get<{ Params: { id: string } }>('/incidents/:id/replay', async (request, reply) => replay(request.params.id, reply));
    app.post<{ Params: { id: string }; Body: { policy?: unknown } }>('/incidents/:id/replay', async (request, reply) =>
      replay(request.params.id, reply, request.body?.policy),
    );

    app.post<{ Params: { id: string } }>('/incidents/:id/escalate', async (request, reply) => {
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
