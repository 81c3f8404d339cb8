import { createHash } from 'node:crypto';
import { matchToken } from '@vigil/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { verifyChain } from '@vigil/audit';
import type { Db } from '@vigil/db';
import { stages, type Incident } from '../domain/incident.js';
import { listIncidents, readIncident, readTimeline, readTimelineHead } from '../store/incident-store.js';
import { pendingAsk, type ApprovalAsk } from './console/approval.js';
import type { ApproverClient } from './console/approver-client.js';
import { liveScript } from './console/live.js';
import { incidentPage, listPage, loginPage, messagePage, type SessionView } from './console/pages.js';
import { credentialOf, formTokenFor, isFormTokenValid, isSameOrigin, sessionCookie } from './console/session.js';

const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);
const Sent = z.enum(['approved', 'denied', 'counted', 'duplicate']).optional().catch(undefined);
const ListQuery = z.object({
  stage: z.preprocess(blankToUndefined, z.enum(stages).optional()),
  service: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  sent: Sent,
});
const LoginBody = z.object({ token: z.string().min(1).max(1000) });
const DecisionForm = z.object({
  form: z.string().max(200),
  planHash: z.string().regex(/^[a-f0-9]{64}$/, 'a hex SHA-256'),
  decision: z.enum(['approve', 'deny']),
  reason: z.preprocess(blankToUndefined, z.string().trim().max(2000).optional()),
  back: z.enum(['list', 'incident']).default('incident'),
});
/** How many requests awaiting approval the list shows in full. */
const AWAITING_SHOWN = 50;

const send = (reply: FastifyReply, status: number, body: string): FastifyReply =>
  reply.code(status).type('text/html; charset=utf-8').send(body);
const text = (reply: FastifyReply, body: string): FastifyReply => reply.type('text/plain; charset=utf-8').send(body);
const fingerprint = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 22);

/**
 * The console: server-rendered pages over the incident store, guarded like the incident API.
 * A person signs in by pasting their API token once; it is kept in an HttpOnly, SameSite=Strict
 * cookie (and re-checked on every request), or a Bearer header works as for the API. Approve /
 * Deny posts here with a per-session form token, and the decision goes on to the approver with
 * the person's own token: the approver, not the console, decides who that person is.
 */
export function consoleRoutes(deps: { db: Db }, tokens: ReadonlyMap<string, string>, options: { approver?: ApproverClient } = {}) {
  const { db } = deps;
  const { approver } = options;

  const awaitingApproval = async (): Promise<Array<{ incident: Incident; ask: ApprovalAsk }>> => {
    const summaries = await listIncidents(db, { stage: 'AWAITING_APPROVAL', limit: AWAITING_SHOWN });
    const found = await Promise.all(
      summaries.map(async ({ id }) => {
        const [incident, timeline] = await Promise.all([readIncident(db, id), readTimeline(db, id)]);
        const ask = incident ? pendingAsk(incident, timeline) : undefined;
        return incident && ask ? { incident, ask } : undefined;
      }),
    );
    return found.filter((f) => f !== undefined);
  };
  const listState = async (filter: { stage?: string; service?: string }) => {
    const [incidents, awaiting] = await Promise.all([listIncidents(db, { ...filter, limit: 200 }), awaitingApproval()]);
    const version = fingerprint([
      incidents.map((i) => [i.id, i.stage, i.updatedAt]),
      awaiting.map((a) => [a.incident.id, a.incident.version]),
    ]);
    return { incidents, awaiting, version };
  };
  const sessionView = (request: FastifyRequest, extra: Partial<SessionView> = {}): SessionView => {
    const { who, token } = credentialOf(request, tokens);
    return {
      who: who ?? 'unknown',
      formToken: formTokenFor(token ?? ''),
      ...(approver ? { approverUrl: approver.url } : {}),
      ...extra,
    };
  };
  const renderIncident = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    status: number,
    extra: Partial<SessionView> | ((incident: Incident) => Partial<SessionView>),
  ): Promise<FastifyReply> => {
    const incident = await readIncident(db, id);
    if (!incident) return send(reply, 404, messagePage('Not found', `There is no incident ${id}.`, true));
    const [timeline, head] = await Promise.all([readTimeline(db, incident.id), readTimelineHead(db, incident.id)]);
    const chainValid = verifyChain(timeline, head ?? undefined).valid;
    const view = sessionView(request, typeof extra === 'function' ? extra(incident) : extra);
    return send(reply, status, incidentPage(incident, timeline, chainValid, view));
  };

  return async (app: FastifyInstance): Promise<void> => {
    // Scoped to this plugin: the sign-in and decision forms post urlencoded.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    // Holds no data: served to anyone, so the sign-in page needs no exception in the CSP.
    app.get('/console/live.js', async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').send(liveScript),
    );

    app.addHook('onRequest', async (request, reply) => {
      if (request.url === '/console/live.js') return undefined;
      // Incident pages carry alert text and evidence: never cached, never framed, and the only
      // script is the console's own live-update file.
      reply
        .header('cache-control', 'no-store')
        .header(
          'content-security-policy',
          "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .header('x-content-type-options', 'nosniff')
        // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
        // console's own form posts, which the decision route must refuse. Links out carry nothing.
        .header('referrer-policy', 'same-origin');
      if (tokens.size === 0) {
        return send(
          reply,
          503,
          messagePage('Console unavailable', 'ORCHESTRATOR_API_TOKENS is not set: the console refuses everyone until it is.'),
        );
      }
      if (request.url === '/console/login' || request.url.startsWith('/console/login?') || request.url === '/console/logout')
        return undefined;
      const { presented, who } = credentialOf(request, tokens);
      if (who !== undefined) return undefined;
      if (!presented) return reply.code(303).header('location', '/console/login').send();
      return send(reply, 401, loginPage('That token is not valid (any more). Sign in again.'));
    });

    app.get('/console/login', async (_request, reply) => send(reply, 200, loginPage()));

    app.post('/console/login', async (request, reply) => {
      const body = LoginBody.safeParse(request.body ?? {});
      const who = body.success ? matchToken(`Bearer ${body.data.token.trim()}`, tokens) : undefined;
      if (!body.success || who === undefined) return send(reply, 401, loginPage('That token is not valid.'));
      return reply.code(303).header('set-cookie', sessionCookie(request, body.data.token.trim())).header('location', '/console').send();
    });

    app.post('/console/logout', async (request, reply) =>
      reply
        .code(303)
        .header('set-cookie', sessionCookie(request, '', 0))
        .header('location', '/console/login')
        .send(),
    );

    const listQuery = (request: FastifyRequest) => {
      const query = ListQuery.safeParse(request.query);
      if (!query.success) return { problems: query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
      const filter = {
        ...(query.data.stage ? { stage: query.data.stage } : {}),
        ...(query.data.service ? { service: query.data.service } : {}),
      };
      return { filter, sent: query.data.sent };
    };

    app.get('/console', async (request, reply) => {
      const query = listQuery(request);
      if (!query.filter) return send(reply, 400, messagePage('Bad filter', query.problems, true));
      const { incidents, awaiting, version } = await listState(query.filter);
      const search = new URLSearchParams(query.filter).toString();
      const session = sessionView(request, {
        live: { url: `/console/version${search ? `?${search}` : ''}`, version },
        ...(query.sent ? { sent: query.sent } : {}),
      });
      return send(reply, 200, listPage(incidents, query.filter, awaiting, session));
    });

    app.get('/console/version', async (request, reply) => {
      const query = listQuery(request);
      if (!query.filter) return reply.code(400).send({ error: query.problems });
      return text(reply, (await listState(query.filter)).version);
    });

    app.get<{ Params: { id: string } }>('/console/incidents/:id/version', async (request, reply) => {
      const incident = await readIncident(db, request.params.id);
      if (!incident) return reply.code(404).send({ error: `no incident ${request.params.id}` });
      return text(reply, String(incident.version));
    });

    app.get<{ Params: { id: string }; Querystring: { sent?: string } }>('/console/incidents/:id', async (request, reply) => {
      const { id } = request.params;
      const sent = Sent.parse(request.query.sent);
      return renderIncident(request, reply, id, 200, (incident) => ({
        live: { url: `/console/incidents/${encodeURIComponent(id)}/version`, version: String(incident.version) },
        ...(sent ? { sent } : {}),
      }));
    });

    app.post<{ Params: { id: string } }>('/console/incidents/:id/decision', async (request, reply) => {
      const { id } = request.params;
      const { who, token } = credentialOf(request, tokens);
      const form = DecisionForm.safeParse(request.body ?? {});
      // Both checks before anything else: a forged post learns nothing and changes nothing.
      if (!isSameOrigin(request) || !token || !isFormTokenValid(token, (request.body as { form?: unknown } | undefined)?.form)) {
        return send(
          reply,
          403,
          messagePage('Refused', 'This form did not come from your console session: reload the page and try again.', true),
        );
      }
      if (!form.success) {
        const problems = form.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        return send(reply, 400, messagePage('Bad decision', problems, true));
      }
      const incident = await readIncident(db, id);
      if (!incident) return send(reply, 404, messagePage('Not found', `There is no incident ${id}.`, true));
      if (incident.stage !== 'AWAITING_APPROVAL' || incident.planHash !== form.data.planHash) {
        const why =
          incident.stage !== 'AWAITING_APPROVAL'
            ? `The incident is ${incident.stage} now: there is nothing to decide.`
            : 'The plan changed since this page was shown: read the new plan before deciding.';
        return renderIncident(request, reply, id, 409, { problem: why });
      }
      if (!approver) {
        return renderIncident(request, reply, id, 503, {
          problem: 'APPROVER_URL is not set: this console cannot send decisions. Use `vigil approve` or the approver’s page.',
        });
      }
      const result = await approver.decide({
        incidentId: id,
        planHash: form.data.planHash,
        decision: form.data.decision,
        token,
        ...(form.data.reason ? { reason: form.data.reason } : {}),
      });
      if (result.kind !== 'sent') {
        if (result.kind === 'unreachable')
          request.log.warn({ incidentId: id, person: who, problem: result.message }, 'decision not delivered');
        return renderIncident(request, reply, id, result.kind === 'refused' ? result.status : 502, { problem: result.message });
      }
      const back = form.data.back === 'list' ? '/console' : `/console/incidents/${encodeURIComponent(id)}`;
      return reply.code(303).header('location', `${back}?sent=${result.outcome}`).send();
    });
  };
}
