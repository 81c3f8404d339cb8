import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb, type Db } from '@vigil/db';
import { deterministicUuidv7, type PlanStep, type VigilEvent } from '@vigil/events';
import { databaseUrl, eventually, natsUrl, sleep, uniqueName } from '@vigil/testing';
import { buttonClick, FakeSlackApi, messageText, postInteraction, signSlack, type FakeMessage } from './fakes/slack-api.fake.js';
import { approvalRequest, decisions, firstDecision, startApprover, type RunningApprover } from './harness.js';

/**
 * The Slack path with the real @slack/bolt (its request verification, its listener dispatch,
 * respond() to response_url) and the real @slack/web-api against a loopback Slack, signed
 * block_actions posted to the approver's /slack/events, on real NATS JetStream and Postgres.
 */
const BOT_TOKEN = 'xoxb-test-0123456789';
const SECRET = 'slack-signing-secret-0123456789';
const prefix = uniqueName('apr');
const schema = uniqueName('approver');
const slack = new FakeSlackApi(BOT_TOKEN);
let bus: Bus;
let db: Db;
let approver: RunningApprover;
let events = '';

const ana = { id: 'U0ANA', name: 'ana' };
const ben = { id: 'U0BEN', name: 'ben' };
const cleo = { id: 'U0CLEO', name: 'cleo' };

beforeAll(async () => {
  await slack.start();
  bus = await createNatsBus({ url: await natsUrl(), name: 'approver-slack-test', prefix });
  db = await createPostgresDb({ url: await databaseUrl(), schema });
  approver = await startApprover({
    prefix,
    db,
    slack: {
      botToken: BOT_TOKEN,
      signingSecret: SECRET,
      apiUrl: slack.apiUrl,
      channels: new Map([['payment-api', 'C0PAYMENTS']]),
      defaultChannel: 'C0INCIDENTS',
    },
  });
  events = `${approver.service.url}/slack/events`;
});

afterAll(async () => {
  await approver?.service.stop();
  await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.close();
  await bus?.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
  await slack.stop();
});

const now = (): number => Math.floor(Date.now() / 1000);

/** Publishes a request and waits for its Slack message. */
async function requested(
  options: Parameters<typeof approvalRequest>[1] = {},
): Promise<{ event: VigilEvent<'approval.requested'>; message: FakeMessage }> {
  const event = approvalRequest(uniqueName('inc'), options);
  await bus.publish(event);
  const message = await eventually(() => [...slack.messages.values()].find((m) => messageText(m).includes(event.incidentId!)));
  return { event, message };
}

function click(
  target: { event: VigilEvent<'approval.requested'>; message: FakeMessage },
  user: { id: string; name: string },
  action: 'vigil_approve' | 'vigil_deny',
  signing: { timestamp?: number; signature?: string; secret?: string } = {},
) {
  const responseId = uniqueName('resp');
  const payload = buttonClick({
    user,
    actionId: action,
    value: JSON.stringify({ incidentId: target.event.incidentId, planHash: target.event.data.planHash }),
    channel: target.message.channel,
    messageTs: target.message.ts,
    responseUrl: slack.responseUrl(responseId),
  });
  return {
    responseId,
    send: () =>
      postInteraction(events, payload, {
        secret: signing.secret ?? SECRET,
        timestamp: signing.timestamp ?? now(),
        ...(signing.signature ? { signature: signing.signature } : {}),
      }),
  };
}

/** What the app told the clicker through response_url. */
const toldClicker = (responseId: string) =>
  eventually(() => slack.responses.find((r) => r.id === responseId)?.body as { text: string; response_type: string } | undefined);

const current = (message: FakeMessage): FakeMessage => slack.messages.get(`${message.channel}/${message.ts}`)!;
const hasButtons = (message: FakeMessage): boolean => current(message).blocks.some((b) => b.type === 'actions');

describe('approvals in Slack', () => {
  it('posts the request to the service channel with the exact steps, why, risk, expiry and buttons bound to the plan', async () => {
    const script: PlanStep = {
      kind: 'script',
      id: 'step-2',
      language: 'bash',
      code: 'kill -TERM 4242 && echo "<done> & ok"',
      egress: [],
      reasoning: '',
    };
    const { event, message } = await requested({ risk: 'HIGH', steps: [approvalRequest('x').data.plan.steps[0]!, script] });
    expect(message.channel).toBe('C0PAYMENTS');
    const post = slack.callsOf('chat.postMessage').find((c) => String(c.args.text).includes(event.incidentId!))!;
    expect(post.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    const text = messageText(message);
    for (const shown of [
      event.incidentId!,
      'HIGH',
      '92%',
      event.data.reasons[0]!,
      event.data.plan.reasoning,
      event.data.plan.citations[0]!.title,
      'postgres.terminate_backend',
      JSON.stringify({ pid: 4242, database: 'payments' }, null, 2),
      'kill -TERM 4242 && echo "<done> & ok"',
      event.data.planHash,
      event.data.expiresAt.slice(0, 16),
    ]) {
      expect(text).toContain(shown);
    }
    const buttons = current(message).blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; value: string }> };
    expect(buttons.elements.map((b) => [b.action_id, JSON.parse(b.value)])).toEqual([
      ['vigil_approve', { incidentId: event.incidentId, planHash: event.data.planHash }],
      ['vigil_deny', { incidentId: event.incidentId, planHash: event.data.planHash }],
    ]);
    // A service without a channel of its own goes to the default channel.
    const other = await requested({ service: 'checkout' });
    expect(other.message.channel).toBe('C0INCIDENTS');
  });

  it('a valid Approve decides once: approval.decided with who, when, via slack; the message shows it and loses its buttons', async () => {
    const target = await requested();
    const { send } = click(target, ana, 'vigil_approve');
    expect((await send()).status).toBe(200);
    const decided = await firstDecision(bus, target.event.incidentId!);
    expect(decided.data).toMatchObject({
      planHash: target.event.data.planHash,
      decision: 'approved',
      decidedBy: [{ id: 'ana', name: 'Ana' }],
      via: 'slack',
    });
    expect(decided.id).toBe(
      deterministicUuidv7(`approver:${target.event.incidentId}:${target.event.data.planHash}`, Date.parse(target.event.occurredAt)),
    );
    expect(decided).toMatchObject({ causationId: target.event.id, correlationId: target.event.correlationId, source: 'approver' });
    await eventually(() => !hasButtons(target.message));
    expect(messageText(current(target.message))).toContain('*Approved* by <@U0ANA> via slack');
    expect(slack.callsOf('chat.update').every((c) => c.authorization === `Bearer ${BOT_TOKEN}`)).toBe(true);

    // A later click (someone with the old message open) is refused and told so; nothing more is sent.
    const late = click(target, ben, 'vigil_deny');
    expect((await late.send()).status).toBe(200);
    expect((await toldClicker(late.responseId)).text).toMatch(/already approved/);
    expect(await decisions(bus, target.event.incidentId!)).toHaveLength(1);
  });

  it('Deny denies and the message says who denied', async () => {
    const target = await requested();
    await click(target, ben, 'vigil_deny').send();
    const decided = await firstDecision(bus, target.event.incidentId!);
    expect(decided.data).toMatchObject({ decision: 'denied', decidedBy: [{ id: 'ben', name: 'Ben' }], via: 'slack' });
    await eventually(() => messageText(current(target.message)).includes('*Denied* by <@U0BEN>'));
  });

  it('a forged signature, a wrong secret, a missing signature or a stale timestamp is refused with 401 and decides nothing', async () => {
    const target = await requested();
    const forged = signSlack(SECRET, now(), 'payload=%7B%7D');
    expect((await click(target, ana, 'vigil_approve', { signature: forged }).send()).status).toBe(401);
    expect((await click(target, ana, 'vigil_approve', { secret: 'not-the-signing-secret' }).send()).status).toBe(401);
    expect((await click(target, ana, 'vigil_approve', { timestamp: now() - 400 }).send()).status).toBe(401);
    expect((await click(target, ana, 'vigil_approve', { timestamp: now() + 900 }).send()).status).toBe(401);
    const unsigned = await fetch(events, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D',
    });
    expect(unsigned.status).toBe(401);
    await sleep(300);
    expect(await decisions(bus, target.event.incidentId!)).toHaveLength(0);
    expect(hasButtons(target.message)).toBe(true);
  });

  it('a replayed request (same bytes, same signature, inside the window) is refused', async () => {
    const target = await requested({ risk: 'CRITICAL' });
    const timestamp = now();
    const first = click(target, ana, 'vigil_approve', { timestamp });
    expect((await first.send()).status).toBe(200);
    expect((await toldClicker(first.responseId)).text).toMatch(/Counted: 1 of 2 approvals/);
    expect((await first.send()).status).toBe(401);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_votes WHERE incident_id = $1', [
      target.event.incidentId,
    ]);
    expect(rows[0]!.n).toBe(1);
    expect(slack.responses.filter((r) => r.id === first.responseId)).toHaveLength(1);
  });

  it('someone who is not an approver is told so privately, and nothing changes', async () => {
    const target = await requested();
    const attempt = click(target, cleo, 'vigil_approve');
    expect((await attempt.send()).status).toBe(200);
    const told = await toldClicker(attempt.responseId);
    expect(told).toMatchObject({ response_type: 'ephemeral' });
    expect(told.text).toContain('Cleo is not an approver for payment-api at risk MEDIUM');
    const stranger = click(target, { id: 'U0NOBODY', name: 'mallory' }, 'vigil_approve');
    await stranger.send();
    expect((await toldClicker(stranger.responseId)).text).toContain('mallory is not an approver');
    await sleep(300);
    expect(await decisions(bus, target.event.incidentId!)).toHaveLength(0);
    expect(hasButtons(target.message)).toBe(true);
  });

  it('CRITICAL needs two distinct approvers: a double click counts once, the second person decides', async () => {
    const target = await requested({ risk: 'CRITICAL' });
    await click(target, ana, 'vigil_approve').send();
    await eventually(() => messageText(current(target.message)).includes('1 of 2 approvals: <@U0ANA>'));
    const again = click(target, ana, 'vigil_approve');
    await again.send();
    expect((await toldClicker(again.responseId)).text).toContain('Ana has already approved; a person counts once');
    await sleep(300);
    expect(await decisions(bus, target.event.incidentId!)).toHaveLength(0);
    expect(hasButtons(target.message)).toBe(true);
    await click(target, ben, 'vigil_approve').send();
    const decided = await firstDecision(bus, target.event.incidentId!);
    expect(decided.data).toMatchObject({ decision: 'approved', decidedBy: [{ id: 'ana' }, { id: 'ben' }] });
    await eventually(() => !hasButtons(target.message));
  });

  it('the requester of a change cannot approve it alone', async () => {
    const target = await requested({ requestedBy: 'ana' });
    const own = click(target, ana, 'vigil_approve');
    await own.send();
    expect((await toldClicker(own.responseId)).text).toContain('the requester of a change cannot approve it alone');
    await sleep(300);
    expect(await decisions(bus, target.event.incidentId!)).toHaveLength(0);
    await click(target, ben, 'vigil_approve').send();
    expect((await firstDecision(bus, target.event.incidentId!)).data.decidedBy.map((p) => p.id)).toEqual(['ana', 'ben']);
  });

  it('an expired request is escalated by the timer, never approved; a click after it is refused and the message says so', async () => {
    // Long enough to be posted while pending: a request stored after its expiry (1.5 s was not
    // enough on a loaded machine) is never posted, and the wait for its message fails.
    const target = await requested({ expiresInMs: 5_000 });
    const decided = await firstDecision(bus, target.event.incidentId!);
    expect(decided.data).toMatchObject({ decision: 'expired', decidedBy: [], via: 'timer', decidedAt: target.event.data.expiresAt });
    await eventually(() => messageText(current(target.message)).includes('*Expired*'));
    expect(hasButtons(target.message)).toBe(false);
    const late = click(target, ana, 'vigil_approve');
    await late.send();
    expect((await toldClicker(late.responseId)).text).toMatch(/Not counted: the request expired/);
    await sleep(300);
    expect((await decisions(bus, target.event.incidentId!)).map((e) => e.data.decision)).toEqual(['expired']);
  });

  it('a message Slack refused to take is posted by the sync loop later', async () => {
    slack.failNext('chat.postMessage', { status: 200, body: { ok: false, error: 'internal_error' } });
    const { event, message } = await requested();
    const posts = slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes(event.incidentId!));
    expect(posts.length).toBe(2);
    expect(message.channel).toBe('C0PAYMENTS');
  });
});
