import { beforeAll, describe, expect, it } from 'vitest';
import { exampleData, Hypothesis as HypothesisSchema, type ContextMatch, type Hypothesis } from '@vigil/events';
import { createSafetyCheck, loadParsers, type SafetyCheck } from '@vigil/policy';
import { bindParams } from './bind.js';
import { planFromRunbooks } from './runbook-planner.js';

const hypothesis: Hypothesis = HypothesisSchema.parse(exampleData['hypothesis.received'].hypothesis);
const lockRunbook: ContextMatch = {
  citation: { documentId: 'pg-lock-contention', kind: 'runbook', title: 'API latency from a Postgres lock', section: 'Fix' },
  score: 0.92,
  passage: 'Terminate the blocker.',
  standing: 'runbook',
  remedy: {
    risk: 'LOW',
    steps: [
      {
        action: 'postgres.terminate_backend',
        params: { pid: '{{evidence.blocker_pid}}', note: 'blocker of {{service}}' },
        reasoning: 'releases the lock',
      },
    ],
    checks: [{ kind: 'http', name: 'health', method: 'GET', url: 'http://127.0.0.1:7480/health', expectStatus: 200 }],
  },
};

let safety: SafetyCheck;
beforeAll(async () => {
  await loadParsers();
  safety = createSafetyCheck();
});

describe('binding runbook parameters to the evidence', () => {
  it('keeps the type of a whole-value template and interpolates inside text', () => {
    expect(bindParams({ pid: '{{evidence.blocker_pid}}', note: 'on {{service}}', n: 3 }, { service: 'payment-api', hypothesis })).toEqual({
      ok: true,
      value: { pid: 4242, note: 'on payment-api', n: 3 },
    });
  });

  it('fails, naming every template nothing fills', () => {
    expect(bindParams({ pid: '{{evidence.nope}}', x: ['{{evidence.other}}'] }, { service: 's', hypothesis })).toEqual({
      ok: false,
      missing: ['evidence.nope', 'evidence.other'],
    });
  });
});

describe('the runbook planner', () => {
  it("binds the best runbook's actions into a plan that cites it, with a confidence no higher than its inputs", () => {
    const proposal = planFromRunbooks({ service: 'payment-api', hypothesis, context: [lockRunbook] }, safety);
    if (proposal.outcome !== 'plan') throw new Error(proposal.reason);
    expect(proposal.plan).toMatchObject({
      steps: [
        { kind: 'action', id: 'step-1', action: 'postgres.terminate_backend', params: { pid: 4242, note: 'blocker of payment-api' } },
      ],
      confidence: 0.92,
      risk: 'LOW',
      citations: [{ documentId: 'pg-lock-contention' }],
      producedBy: 'runbook-planner',
    });
    expect(proposal.plan.checks).toHaveLength(1);
    expect(proposal.flags).toEqual([]);
  });

  it('never offers a fix that did not hold; says so when that is all there is', () => {
    const proposal = planFromRunbooks({ service: 's', hypothesis, context: [{ ...lockRunbook, standing: 'ineffective' }] }, safety);
    expect(proposal).toEqual({
      outcome: 'no_plan',
      reason: 'no runbook with a remedy matches this hypothesis (the only fix found did not hold before)',
    });
  });

  it('no plan when a step needs evidence the hypothesis lacks', () => {
    const noPid = { ...hypothesis, evidence: [] };
    const proposal = planFromRunbooks({ service: 's', hypothesis: noPid, context: [lockRunbook] }, safety);
    expect(proposal).toMatchObject({ outcome: 'no_plan', reason: expect.stringContaining('needs evidence.blocker_pid') });
  });

  it("binds a runbook check's templates to the evidence too, and no plan when it cannot", () => {
    const idleRunbook: ContextMatch = {
      ...lockRunbook,
      remedy: {
        risk: 'LOW',
        steps: [
          { action: 'postgres.terminate_idle_in_transaction', params: { older_than_s: '{{evidence.idle_threshold_s}}' }, reasoning: '' },
        ],
        checks: [
          { kind: 'postgres', name: 'no idle transactions', expect: 'no_idle_in_transaction', olderThanS: '{{evidence.idle_threshold_s}}' },
        ],
      },
    };
    const idle = {
      ...hypothesis,
      evidence: [{ source: 'postgres.idle_in_transaction', summary: 'idle', facts: { idle_threshold_s: 10 } }],
    };
    const proposal = planFromRunbooks({ service: 's', hypothesis: idle, context: [idleRunbook] }, safety);
    if (proposal.outcome !== 'plan') throw new Error(proposal.reason);
    expect(proposal.plan.checks).toEqual([
      { kind: 'postgres', name: 'no idle transactions', expect: 'no_idle_in_transaction', olderThanS: 10 },
    ]);
    expect(proposal.plan.steps[0]).toMatchObject({ params: { older_than_s: 10 } });
    // The evidence states the threshold as text: the check would not be a number, so no plan.
    const wrong = { ...idle, evidence: [{ ...idle.evidence[0]!, facts: { idle_threshold_s: 'ten' } }] };
    expect(planFromRunbooks({ service: 's', hypothesis: wrong, context: [idleRunbook] }, safety)).toMatchObject({
      outcome: 'no_plan',
      reason: expect.stringContaining('check "no idle transactions" olderThanS'),
    });
    const none = { ...idle, evidence: [] };
    expect(planFromRunbooks({ service: 's', hypothesis: none, context: [idleRunbook] }, safety)).toMatchObject({
      outcome: 'no_plan',
      reason: expect.stringContaining('needs evidence.idle_threshold_s'),
    });
  });

  it('raises the edge cases the gate must see', () => {
    const weak = { ...lockRunbook, score: 0.3 };
    const ambiguous = { ...hypothesis, flags: ['ambiguous' as const], affectedServices: ['a', 'b'] };
    const proposal = planFromRunbooks({ service: 's', hypothesis: ambiguous, context: [weak] }, safety);
    if (proposal.outcome !== 'plan') throw new Error('expected a plan');
    expect(proposal.flags.sort()).toEqual(['ambiguous_hypothesis', 'low_runbook_match', 'multiple_services']);
    const dataRunbook: ContextMatch = {
      ...lockRunbook,
      remedy: {
        risk: 'LOW',
        steps: [
          { action: 'k8s.scale', params: { replicas: 0 }, reasoning: '' },
          { action: 'redis.unlink_keys', params: {}, reasoning: '' },
        ],
        checks: [],
      },
    };
    const risky = planFromRunbooks({ service: 's', hypothesis, context: [dataRunbook] }, safety);
    if (risky.outcome !== 'plan') throw new Error('expected a plan');
    expect(risky.flags.sort()).toEqual(['risk_contradiction', 'touches_data']);
  });

  it('no plan without any runbook remedy', () => {
    expect(planFromRunbooks({ service: 's', hypothesis, context: [] }, safety)).toMatchObject({ outcome: 'no_plan' });
  });
});
