import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, Plan } from '@vigil/events';
import { collect, databaseUrl, eventually, natsUrl, sleep, uniqueName } from '@vigil/testing';
import { approvalRequest, decisions, firstDecision, startApprover, type RunningApprover } from './harness.js';

/**
 * The approver without Slack, on real NATS JetStream and Postgres: requests arrive as the
 * orchestrator sends them, people decide through the web API with their tokens, and exactly one
 * approval.decided comes out per request — across restarts and two copies of the service.
 */
const prefix = uniqueName('apw');
const schema = uniqueName('approver');
let bus: Bus;
let db: Db;
let first: RunningApprover;
let second: RunningApprover | undefined;

const ANA = 'ana-token-0123456789abcdef';
const BEN = 'ben-token-0123456789abcdef';
const CLEO = 'cleo-token-0123456789abcdef';

beforeAll(async () => {
  bus = await createNatsBus({ url: await natsUrl(), name: 'approver-web-test', prefix });
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  first = await startApprover({ prefix, db });
});

afterAll(async () => {
  await second?.service.stop();
  await first?.service.stop();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  await bus?.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

interface ApprovalJson {
  incidentId: string;
  planHash: string;
  state: string;
  plan: { steps: unknown[] };
  [field: string]: unknown;
}
interface Answer {
  outcome?: string;
  message?: string;
  error?: string;
  problems?: string[];
  approvals?: ApprovalJson[];
  approval?: ApprovalJson;
}

async function api(path: string, init: { token?: string; method?: string; body?: unknown; base?: string; accept?: string } = {}) {
  const response = await fetch(`${init.base ?? first.service.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      accept: init.accept ?? 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, text, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Answer };
}

async function pending(incidentId: string) {
  return eventually(async () => {
    const { body } = await api('/approvals?state=pending', { token: ANA });
    return body.approvals?.find((a) => a.incidentId === incidentId);
  });
}

describe('approvals through the web API, on NATS and Postgres', () => {
  it('lists a pending request with the exact plan; a decision by token is sent once as approval.decided via web', async () => {
    const request = approvalRequest(uniqueName('inc'));
    await bus.publish(request);
    const listed = await pending(request.incidentId!);
    expect(listed).toMatchObject({
      planHash: request.data.planHash,
      service: 'payment-api',
      risk: 'MEDIUM',
      state: 'pending',
      approvalsNeeded: 1,
    });
    expect(listed.plan.steps).toEqual(request.data.plan.steps);

    const decided = await api(`/approvals/${request.incidentId}/decision`, {
      token: ANA,
      method: 'POST',
      body: { decision: 'approve', reason: 'checked the pid' },
    });
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ outcome: 'approved', approval: { state: 'approved' } });
    const event = await firstDecision(bus, request.incidentId!);
    expect(event.data).toMatchObject({
      decision: 'approved',
      decidedBy: [{ id: 'ana', name: 'Ana' }],
      via: 'web',
      reason: 'checked the pid',
    });

    const again = await api(`/approvals/${request.incidentId}/decision`, { token: BEN, method: 'POST', body: { decision: 'deny' } });
    expect(again.status).toBe(409);
    expect(again.body.outcome).toBe('already_decided');
    await sleep(300);
    expect(await decisions(bus, request.incidentId!)).toHaveLength(1);
    expect((await api('/approvals?state=pending', { token: ANA })).body.approvals?.some((a) => a.incidentId === request.incidentId)).toBe(
      false,
    );
  });

  it('refuses without a valid token: 401, nothing about the requests, the token never echoed', async () => {
    const request = approvalRequest(uniqueName('inc'));
    await bus.publish(request);
    await pending(request.incidentId!);
    for (const token of [undefined, 'ana-token-0123456789abcdeX', `${ANA} extra`]) {
      const list = await api('/approvals?state=pending', token ? { token } : {});
      expect(list.status).toBe(401);
      expect(list.text).not.toContain(request.incidentId!);
      if (token) expect(list.text).not.toContain(token);
      const decide = await api(`/approvals/${request.incidentId}/decision`, {
        ...(token ? { token } : {}),
        method: 'POST',
        body: { decision: 'approve' },
      });
      expect(decide.status).toBe(401);
      expect(decide.text).not.toContain(request.data.planHash);
    }
    expect((await api(`/approvals/${request.incidentId}`, { token: 'wrong-token-0123456789abcdef' })).status).toBe(401);
    await sleep(300);
    expect(await decisions(bus, request.incidentId!)).toHaveLength(0);
  });

  it('a person with a token but not an approver is refused with 403; a deny with a reason is sent as denied', async () => {
    const request = approvalRequest(uniqueName('inc'), { risk: 'HIGH' });
    await bus.publish(request);
    await pending(request.incidentId!);
    const refused = await api(`/approvals/${request.incidentId}/decision`, { token: CLEO, method: 'POST', body: { decision: 'approve' } });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('Cleo is not an approver for payment-api at risk HIGH');
    const denied = await api(`/approvals/${request.incidentId}/decision`, {
      token: BEN,
      method: 'POST',
      body: { decision: 'deny', reason: 'wrong database', via: 'cli' },
    });
    expect(denied.status).toBe(200);
    expect((await firstDecision(bus, request.incidentId!)).data).toMatchObject({
      decision: 'denied',
      decidedBy: [{ id: 'ben' }],
      via: 'cli',
      reason: 'wrong database',
    });
  });

  it('binds to the plan hash: a decision for another plan is not taken; a newer plan supersedes the older one', async () => {
    const incidentId = uniqueName('inc');
    const older = approvalRequest(incidentId);
    await bus.publish(older);
    await pending(incidentId);
    const wrong = await api(`/approvals/${incidentId}/decision`, {
      token: ANA,
      method: 'POST',
      body: { decision: 'approve', planHash: 'f'.repeat(64) },
    });
    expect(wrong.status).toBe(404);
    const newer = approvalRequest(incidentId, {
      steps: [{ kind: 'action', id: 's', action: 'redis.unlink', params: { key: 'sessions:big' }, reasoning: '' }],
    });
    await bus.publish(newer);
    await eventually(async () => {
      const { body } = await api(`/approvals/${incidentId}`, { token: ANA });
      return body.approvals?.find(
        (a: { planHash: string; state: string }) => a.planHash === older.data.planHash && a.state === 'superseded',
      );
    });
    const stale = await api(`/approvals/${incidentId}/decision`, {
      token: ANA,
      method: 'POST',
      body: { decision: 'approve', planHash: older.data.planHash },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.outcome).toBe('superseded');
    const current = await api(`/approvals/${incidentId}/decision`, { token: ANA, method: 'POST', body: { decision: 'approve' } });
    expect(current.status).toBe(200);
    expect((await firstDecision(bus, incidentId)).data.planHash).toBe(newer.data.planHash);
  });

  it('refuses a request whose plan hash is not the hash of its plan (dead-lettered, never shown)', async () => {
    const request = approvalRequest(uniqueName('inc'));
    const tampered = createEvent(
      'approval.requested',
      { ...request.data, plan: Plan.parse({ ...request.data.plan, steps: [{ ...request.data.plan.steps[0]!, params: { pid: 1 } }] }) },
      { source: 'orchestrator', incidentId: request.incidentId },
    );
    await bus.publish(tampered);
    const parked = await eventually(async () => (await collect(bus.deadLetters())).find((d) => d.event?.id === tampered.id));
    expect(parked.error.code).toBe('APPROVAL_PLAN_HASH_MISMATCH');
    expect((await api(`/approvals/${request.incidentId}`, { token: ANA })).status).toBe(404);
  });

  it('a redelivered request is one request; two copies deciding at once send one decision', async () => {
    second = await startApprover({ prefix, db });
    const request = approvalRequest(uniqueName('inc'), { risk: 'LOW' });
    await bus.publish(request);
    await bus.publish(createEvent('approval.requested', request.data, { source: 'orchestrator', incidentId: request.incidentId }));
    await pending(request.incidentId!);
    await sleep(300);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests WHERE incident_id = $1', [
      request.incidentId,
    ]);
    expect(rows[0]!.n).toBe(1);
    const [a, b] = await Promise.all([
      api(`/approvals/${request.incidentId}/decision`, { token: ANA, method: 'POST', body: { decision: 'approve' } }),
      api(`/approvals/${request.incidentId}/decision`, {
        token: BEN,
        method: 'POST',
        body: { decision: 'deny' },
        base: second.service.url,
      }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    await firstDecision(bus, request.incidentId!);
    await sleep(300);
    expect(await decisions(bus, request.incidentId!)).toHaveLength(1);
  });

  it('expiry is a durable timer: a request whose copy stopped is expired by a new copy, once, never approved', async () => {
    // Long enough to be listed as pending first: a request stored after 1.5 s on a loaded machine
    // was expired on arrival and never listed, and the stop below came after the expiry.
    const request = approvalRequest(uniqueName('inc'), { expiresInMs: 5_000 });
    await bus.publish(request);
    await pending(request.incidentId!);
    await first.service.stop();
    await second?.service.stop();
    second = undefined;
    first = await startApprover({ prefix, db });
    const expired = await firstDecision(bus, request.incidentId!);
    expect(expired.data).toMatchObject({ decision: 'expired', decidedBy: [], via: 'timer' });
    const late = await api(`/approvals/${request.incidentId}/decision`, { token: ANA, method: 'POST', body: { decision: 'approve' } });
    expect(late.status).toBe(409);
    expect(late.body.outcome).toBe('expired');
    await sleep(300);
    expect(await decisions(bus, request.incidentId!)).toHaveLength(1);
  });

  it('a vote arriving after expiry, before the timer ran, expires the request instead of approving it', async () => {
    // A copy of its own (stream and schema) whose timer never runs in this test and whose clock the test moves.
    const xPrefix = uniqueName('apx');
    const xSchema = uniqueName('approver');
    const xdb = await createPostgresDb({ url: await databaseUrl(), schema: xSchema });
    const xbus = await createNatsBus({ url: await natsUrl(), name: 'approver-x-test', prefix: xPrefix });
    let offsetMs = 0;
    const copy = await startApprover({ prefix: xPrefix, db: xdb, tickMs: 3_600_000, clock: () => new Date(Date.now() + offsetMs) });
    try {
      const request = approvalRequest(uniqueName('inc'));
      await xbus.publish(request);
      await eventually(async () => (await api(`/approvals/${request.incidentId}`, { token: ANA, base: copy.service.url })).status === 200);
      offsetMs = 11 * 60_000;
      const late = await api(`/approvals/${request.incidentId}/decision`, {
        token: ANA,
        method: 'POST',
        body: { decision: 'approve' },
        base: copy.service.url,
      });
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({ outcome: 'expired', approval: { state: 'expired' } });
      const sent = await firstDecision(xbus, request.incidentId!);
      expect(sent.data).toMatchObject({ decision: 'expired', via: 'timer', decidedBy: [] });
      expect(Date.parse(sent.data.decidedAt)).toBe(Date.parse(request.data.expiresAt));
    } finally {
      await copy.service.stop();
      await xbus.close();
      await xdb.exec(`DROP SCHEMA IF EXISTS ${xSchema} CASCADE`);
      await xdb.close();
      await deleteNatsStreams({ url: await natsUrl(), prefix: xPrefix });
    }
  });

  it('bad input is named: a missing decision, an unknown field, a malformed plan hash', async () => {
    const incidentId = uniqueName('inc');
    const missing = await api(`/approvals/${incidentId}/decision`, { token: ANA, method: 'POST', body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.problems?.join()).toMatch(/decision/);
    const unknown = await api(`/approvals/${incidentId}/decision`, {
      token: ANA,
      method: 'POST',
      body: { decision: 'approve', force: true },
    });
    expect(unknown.body.problems?.join()).toMatch(/force/);
    const hash = await api(`/approvals/${incidentId}/decision`, {
      token: ANA,
      method: 'POST',
      body: { decision: 'approve', planHash: 'abc' },
    });
    expect(hash.body.problems?.join()).toMatch(/planHash: a hex SHA-256/);
    expect((await api(`/approvals/${incidentId}/decision`, { token: ANA, method: 'POST', body: { decision: 'approve' } })).status).toBe(
      404,
    );
  });

  it('serves the console page without data, under a CSP that allows no inline script', async () => {
    const page = await api('/approvals', { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script src="/approvals/console.js">');
    expect(page.text).not.toMatch(/inc_/);
    const response = await fetch(`${first.service.url}/approvals`, { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await api('/approvals/console.js', { accept: '*/*' })).text).toContain('fetch(path');
  });
});
