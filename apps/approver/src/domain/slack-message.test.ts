import { describe, expect, it } from 'vitest';
import { ApprovalRequested, exampleData, type PlanStep } from '@vigil/events';
import { planHash } from './plan-hash.js';
import { buttonValue, parseButtonValue, renderApprovalMessage, type ApprovalView } from './slack-message.js';

const script = 'psql -c "SELECT pg_terminate_backend(4242) WHERE 1 < 2 && true" # `x` ```not a fence``` <@U1> &amp;';
const steps: PlanStep[] = [
  {
    kind: 'action',
    id: 's1',
    action: 'postgres.terminate_backend',
    params: { pid: 4242, reason: '<blocker> & co' },
    reasoning: 'pid 4242 holds the lock',
  },
  { kind: 'script', id: 's2', language: 'bash', code: script, egress: [], reasoning: '' },
];

function view(over: Partial<ApprovalView> = {}, planSteps: PlanStep[] = steps): ApprovalView {
  const base = exampleData['approval.requested'];
  const plan = { ...base.plan, steps: planSteps, reasoning: 'Lock pile-up: pid 4242 blocks 4 sessions <evidence>' };
  const request = ApprovalRequested.parse({
    ...base,
    plan,
    planHash: planHash(ApprovalRequested.shape.plan.parse(plan)),
    reasons: ['runbook match 0.62 < 0.85'],
  });
  return {
    incidentId: 'inc-42',
    planHash: request.planHash,
    request,
    expiresAt: new Date('2026-11-22T10:15:00.000Z'),
    state: 'pending',
    votes: [],
    decision: null,
    ...over,
  };
}

type Block = Record<string, unknown>;
const preformattedTexts = (blocks: Block[]): string[] =>
  blocks.filter((b) => b.type === 'rich_text').map((b) => ((b.elements as Block[])[0]!.elements as Array<{ text: string }>)[0]!.text);
const allText = (blocks: Block[]): string => JSON.stringify(blocks);

describe('the Slack approval message', () => {
  it('shows every step exactly: the action and its parameters, the script verbatim', () => {
    const message = renderApprovalMessage(view());
    const pre = preformattedTexts(message.blocks);
    expect(pre).toEqual([JSON.stringify(steps[0]!.kind === 'action' ? steps[0]!.params : {}, null, 2), script]);
    expect(allText(message.blocks)).toContain('postgres.terminate_backend');
    expect(message.complete).toBe(true);
  });

  it('shows the incident, risk, confidence, reasons (escaped), reasoning, runbook, expiry and plan hash', () => {
    const v = view();
    const text = allText(renderApprovalMessage(v).blocks);
    for (const part of [
      'inc-42',
      'LOW',
      '92%',
      'runbook match 0.62 &lt; 0.85',
      '&lt;evidence&gt;',
      v.planHash,
      '2026-11-22T10:15:00.000Z',
    ]) {
      expect(text).toContain(part);
    }
    for (const citation of v.request.plan.citations) expect(text).toContain(citation.title);
  });

  it('binds both buttons to the incident and the plan hash', () => {
    const v = view();
    const actions = renderApprovalMessage(v).blocks.find((b) => b.type === 'actions') as {
      elements: Array<{ action_id: string; value: string }>;
    };
    expect(actions.elements.map((e) => e.action_id)).toEqual(['vigil_approve', 'vigil_deny']);
    for (const element of actions.elements) expect(parseButtonValue(element.value)).toEqual({ incidentId: 'inc-42', planHash: v.planHash });
    expect(parseButtonValue('{"incidentId":"x","planHash":"nothex"}')).toBeUndefined();
    expect(parseButtonValue('nonsense')).toBeUndefined();
    expect(buttonValue('inc-42', v.planHash).length).toBeLessThan(2000);
  });

  it('splits long code into pieces that put together are the code, never cut', () => {
    const long = Array.from({ length: 400 }, (_, i) => `echo line ${i} && true`).join('\n');
    const message = renderApprovalMessage(view({}, [{ kind: 'script', id: 's', language: 'sh', code: long, egress: [], reasoning: '' }]));
    const pieces = preformattedTexts(message.blocks);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(long);
  });

  it('a plan too long to show whole cannot be approved from Slack', () => {
    const many: PlanStep[] = Array.from({ length: 40 }, (_, i) => ({
      kind: 'action',
      id: `s${i}`,
      action: 'redis.unlink',
      params: { key: `k${i}` },
      reasoning: '',
    }));
    const message = renderApprovalMessage(view({}, many));
    expect(message.complete).toBe(false);
    expect(message.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
  });

  it('once decided, shows who and how, and has no buttons', () => {
    const decided = renderApprovalMessage(
      view({
        state: 'approved',
        votes: [
          { person: { id: 'ana', name: 'Ana', slackUserId: 'U0ANA' }, vote: 'approve', via: 'slack', at: '2026-11-22T10:06:00.000Z' },
        ],
        decision: {
          planHash: 'a'.repeat(64),
          decision: 'approved',
          decidedBy: [{ id: 'ana', name: 'Ana' }],
          via: 'slack',
          decidedAt: '2026-11-22T10:06:00.000Z',
        },
      }),
    );
    expect(decided.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(allText(decided.blocks)).toContain('*Approved* by <@U0ANA> via slack');
    const expired = renderApprovalMessage(view({ state: 'expired' }));
    expect(allText(expired.blocks)).toContain('*Expired*');
    expect(expired.blocks.some((b) => b.type === 'actions')).toBe(false);
  });
});
