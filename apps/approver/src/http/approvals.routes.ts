import { matchToken } from '@vigil/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '@vigil/db';
import type { Approvals } from '../approvals.js';
import { approvalsNeeded, type Judgement } from '../domain/judge.js';
import { personById, type ApproverPolicy } from '../domain/policy.js';
import { findRequest, listRequests, requestsOf, type ApprovalRecord } from '../store.js';
import { consoleScript, consolePage } from './console.js';

const ListQuery = z.object({
  state: z.enum(['pending', 'approved', 'denied', 'expired', 'superseded', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const DecisionBody = z
  .object({
    planHash: z
      .string()
      .regex(/^[a-f0-9]{64}$/, 'a hex SHA-256')
      .optional(),
    decision: z.enum(['approve', 'deny']),
    reason: z.string().trim().min(1).max(2000).optional(),
    /** Which client sent it, for the record: the web console or `vigil approve`. */
    via: z.enum(['web', 'cli']).default('web'),
  })
  .strict();

/** What the API shows of a request: the request as asked and where it stands (no Slack internals). */
export function publicView(record: ApprovalRecord) {
  const { request } = record;
  return {
    incidentId: record.incidentId,
    planHash: record.planHash,
    service: request.service,
    risk: request.risk,
    confidence: request.confidence,
    reasons: request.reasons,
    plan: request.plan,
    requestedBy: request.requestedBy,
    approvalsNeeded: approvalsNeeded(request),
    requestedAt: record.requestedAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    state: record.state,
    votes: record.votes.map((v) => ({
      person: { id: v.person.id, ...(v.person.name ? { name: v.person.name } : {}) },
      vote: v.vote,
      via: v.via,
      ...(v.reason ? { reason: v.reason } : {}),
      at: v.at,
    })),
    decision: record.decision,
  };
}

function status(judgement: Judgement): { code: number; outcome: string } {
  switch (judgement.kind) {
    case 'decided':
      return { code: 200, outcome: judgement.decision };
    case 'counted':
      return { code: 202, outcome: 'counted' };
    case 'duplicate':
      return { code: 200, outcome: 'duplicate' };
    case 'expire':
      return { code: 409, outcome: 'expired' };
    case 'refused':
      return { code: judgement.code === 'NOT_AUTHORISED' ? 403 : 409, outcome: judgement.code.toLowerCase() };
  }
}

const badRequest = (reply: FastifyReply, error: z.ZodError): FastifyReply =>
  reply.code(400).send({ error: 'invalid request', problems: error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) });

/**
 * The approvals API and console. Every API call needs `Authorization: Bearer` with one of
 * APPROVER_API_TOKENS, and the token names the person who decides; without any configured, every
 * call is refused. The console page itself holds no data: it asks for a token and calls the API.
 */
export function approvalRoutes(deps: { db: Db; approvals: Approvals; policy: ApproverPolicy; tokens: ReadonlyMap<string, string> }) {
  const personOf = (request: FastifyRequest): string | undefined => matchToken(request.headers.authorization, deps.tokens);
  const wantsPage = (request: FastifyRequest): boolean =>
    request.method === 'GET' && request.headers.authorization === undefined && String(request.headers.accept ?? '').includes('text/html');

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/approvals/console.js', async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').send(consoleScript),
    );

    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.startsWith('/approvals') || request.url.startsWith('/approvals/console.js')) return undefined;
      if (request.routeOptions.url === '/approvals' && wantsPage(request)) return undefined;
      if (deps.tokens.size === 0) {
        return reply
          .code(503)
          .send({ error: 'APPROVER_API_TOKENS is not set: the approvals API refuses every call until it is (person:token pairs)' });
      }
      if (personOf(request) === undefined) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a valid API token is required (Authorization: Bearer <token>)' });
      }
      return undefined;
    });

    app.get('/approvals', async (request, reply) => {
      if (wantsPage(request)) {
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'")
          .send(consolePage);
      }
      const query = ListQuery.safeParse(request.query);
      if (!query.success) return badRequest(reply, query.error);
      const records = await listRequests(deps.db, {
        ...(query.data.state === 'all' ? {} : { state: query.data.state }),
        limit: query.data.limit,
      });
      return { approvals: records.map(publicView) };
    });

    app.get<{ Params: { incidentId: string } }>('/approvals/:incidentId', async (request, reply) => {
      const records = await requestsOf(deps.db, request.params.incidentId);
      if (records.length === 0) return reply.code(404).send({ error: `no approval request for incident ${request.params.incidentId}` });
      return { approvals: records.map(publicView) };
    });

    app.post<{ Params: { incidentId: string } }>('/approvals/:incidentId/decision', async (request, reply) => {
      const body = DecisionBody.safeParse(request.body ?? {});
      if (!body.success) return badRequest(reply, body.error);
      const { incidentId } = request.params;
      let planHash = body.data.planHash;
      if (!planHash) {
        const records = await requestsOf(deps.db, incidentId);
        const pending = records.filter((r) => r.state === 'pending');
        if (pending.length > 1) {
          return reply.code(409).send({
            error: 'more than one plan awaits approval for this incident: say which (planHash)',
            pending: pending.map(publicView),
          });
        }
        planHash = (pending[0] ?? records[0])?.planHash;
      } else if (!(await findRequest(deps.db, { incidentId, planHash }))) planHash = undefined;
      if (!planHash)
        return reply
          .code(404)
          .send({ error: `no approval request for incident ${incidentId}${body.data.planHash ? ' and that plan' : ''}` });

      const person = personById(deps.policy, personOf(request) as string);
      const result = await deps.approvals.vote(
        { incidentId, planHash },
        { person, vote: body.data.decision, via: body.data.via, ...(body.data.reason ? { reason: body.data.reason } : {}) },
      );
      if (!result) return reply.code(404).send({ error: `no approval request for incident ${incidentId}` });
      const { code, outcome } = status(result.judgement);
      return reply.code(code).send({ outcome, message: result.judgement.message, approval: publicView(result.record) });
    });
  };
}
