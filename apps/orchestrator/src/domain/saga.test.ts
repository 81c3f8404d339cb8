import { describe, expect, it } from 'vitest';
import { exampleData, type EventType } from '@vigil/events';
import { stages, type Incident, type Stage } from './incident.js';
import type { SagaInput } from './inputs.js';
import { planHash } from './plan-hash.js';
import { transition } from './saga.js';
import {
  approvalFor,
  autoPlan,
  commandsOf,
  config,
  context,
  contextMatches,
  drive,
  event,
  eventTypes,
  executed,
  executionId,
  noFactsWith,
  proposal,
  t0,
  toSynthesizing,
  twoStepPlan,
  verified,
} from './saga.fixtures.js';

const approvalPlan = { ...autoPlan, risk: 'MEDIUM' as const };

describe('the lifecycle, step by step', () => {
  it('trigger → INVESTIGATING, asking the investigator, with a deadline', () => {
    const { incident, results } = drive([event('incident.triggered', {}, null)]);
    expect(incident).toMatchObject({
      id: 'inc-1',
      stage: 'INVESTIGATING',
      service: 'payment-api',
      occurrences: 1,
      dedupKey: 'payment-api/HighLatency',
    });
    expect(commandsOf(results[0]!)).toEqual(['investigation.requested']);
    expect(results[0]!.commands[0]!.data).toMatchObject({ clericWaitMs: 20_000, service: 'payment-api' });
    expect(results[0]!.deadline).toEqual({ stage: 'INVESTIGATING', dueAt: '2026-11-22T10:01:00.000Z' });
    expect(results[0]!.timeline.filter((e) => e.kind === 'stage').map((e) => e.summary)).toEqual(['TRIGGERED', 'INVESTIGATING']);
  });

  it('hypothesis → HYPOTHESIS_RECEIVED asking memory; context → CONTEXT_RETRIEVED then SYNTHESIZING asking the reasoner', () => {
    const { incident, results } = drive(toSynthesizing);
    expect(commandsOf(results[1]!)).toEqual(['context.requested']);
    expect(results[1]!.commands[0]!.data).toMatchObject({ limit: 5, query: expect.stringContaining('row lock') });
    expect(commandsOf(results[2]!)).toEqual(['remediation.requested']);
    expect(results[2]!.timeline.filter((e) => e.kind === 'stage').map((e) => e.summary)).toEqual(['CONTEXT_RETRIEVED', 'SYNTHESIZING']);
    expect(incident.stage).toBe('SYNTHESIZING');
  });

  it('hands the executor the facts the step was planned from: the first evidence stating a fact wins', () => {
    const base = exampleData['hypothesis.received'].hypothesis;
    const hypothesis = {
      ...base,
      evidence: [
        { ...base.evidence![0]!, facts: { blocker_pid: 4242, blocker_backend_start: '2026-11-22T09:58:00.000001Z' } },
        {
          source: 'cleric',
          summary: 'a note naming another pid',
          facts: { blocker_pid: 9999, blocker_backend_start: 'later' },
          confidence: 0.5,
        },
      ],
    };
    const { results } = drive([
      event('incident.triggered', {}, null),
      event('hypothesis.received', { hypothesis }),
      event('context.retrieved', { matches: contextMatches }),
      proposal(autoPlan),
      verified('baseline', false),
    ]);
    expect(results.at(-1)!.commands[0]!.data).toMatchObject({
      evidenceFacts: { blocker_pid: 4242, blocker_backend_start: '2026-11-22T09:58:00.000001Z' },
    });
  });

  it('a confident, runbook-backed, low-risk plan runs alone: baseline, step, proof, RESOLVED', () => {
    const { incident, results } = drive([
      ...toSynthesizing,
      proposal(autoPlan),
      verified('baseline', false),
      executed(0, 'succeeded'),
      verified('proof', true),
    ]);
    const [gate, baseline, step, proof] = results.slice(3);
    expect(gate!.timeline.find((e) => e.kind === 'decision')).toMatchObject({ summary: 'gate: AUTO_EXECUTE' });
    expect(gate!.counts).toEqual(['auto_execution', 'fix_execution']);
    expect(commandsOf(gate!)).toEqual(['verification.requested']);
    expect(gate!.commands[0]!.data).toMatchObject({ mode: 'baseline' });
    expect(commandsOf(baseline!)).toEqual(['execution.requested']);
    expect(baseline!.commands[0]!.data).toMatchObject({
      executionId: executionId(0),
      stepIndex: 0,
      planHash: planHash(autoPlan),
      approvalRequired: false,
      evidenceFacts: { blocker_pid: 4242 },
    });
    expect(commandsOf(step!)).toEqual(['verification.requested']);
    expect(step!.commands[0]!.data).toMatchObject({ mode: 'proof', consecutivePasses: 3 });
    expect(commandsOf(proof!)).toEqual(['incident.resolved']);
    // Full provenance for memory, which learns from the outcome.
    expect(proof!.commands[0]!.data).toMatchObject({
      how: 'remediated',
      title: 'payment-api p95 latency above 2s',
      alertName: 'HighLatency',
      plan: autoPlan,
      hypothesis: { rootCause: exampleData['hypothesis.received'].hypothesis.rootCause },
      verification: {
        checks: autoPlan.checks.map((c) => c.name),
        baseline: { passed: false, passRatio: 0, rounds: 3 },
        proof: { passed: true, passRatio: 1, rounds: 3 },
      },
    });
    expect(proof!.deadline).toBeNull();
    expect(incident).toMatchObject({ stage: 'RESOLVED', outcome: { kind: 'resolved', reason: 'remediated' } });
  });

  it('MTTR is measured from the alert to the proof', () => {
    const ctx = context({}, new Date(t0.getTime() + 42_000));
    const { results } = drive(
      [...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'succeeded'), verified('proof', true)],
      ctx,
    );
    expect(results.at(-1)!.commands[0]!.data).toMatchObject({ how: 'remediated', dedupKey: 'payment-api/HighLatency' });
    // One clock for every input in this test: the triggeredAt is the same instant, so MTTR is 0 here
    // and positive when time passes:
    const later = transition(
      { ...drive([...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'succeeded')]).incident },
      verified('proof', true),
      context({}, new Date(t0.getTime() + 42_000)),
    );
    expect(later.commands[0]!.data).toMatchObject({ mttrMs: 42_000 });
  });

  it('runs a multi-step plan in order', () => {
    const { results, incident } = drive([...toSynthesizing, proposal(twoStepPlan), verified('baseline', false), executed(0, 'succeeded')]);
    expect(results.at(-1)!.commands[0]!.data).toMatchObject({ executionId: executionId(1), stepIndex: 1 });
    expect(incident.steps.map((s) => s.status)).toEqual(['succeeded', 'requested']);
  });
});

describe('the approval path', () => {
  const toApproval = [...toSynthesizing, proposal(approvalPlan)];

  it('a MEDIUM-risk plan waits for a human, bound to the plan hash, with an expiry', () => {
    const { incident, results } = drive(toApproval);
    expect(incident.stage).toBe('AWAITING_APPROVAL');
    const request = results.at(-1)!.commands[0]!;
    expect(request.type).toBe('approval.requested');
    expect(request.data).toMatchObject({
      planHash: planHash(approvalPlan),
      risk: 'MEDIUM',
      expiresAt: '2026-11-22T10:15:00.000Z',
      requiredApprovals: 1,
      reasons: ['risk MEDIUM needs a human'],
    });
    expect(results.at(-1)!.deadline).toEqual({ stage: 'AWAITING_APPROVAL', dueAt: '2026-11-22T10:15:30.000Z' });
    expect(results.at(-1)!.counts).toEqual([]);
  });

  it('approved → the baseline, counted as a fix execution but not an automatic one', () => {
    const { incident, results } = drive([...toApproval, approvalFor(approvalPlan)]);
    expect(incident).toMatchObject({
      stage: 'EXECUTING',
      phase: 'baseline',
      approval: { decision: 'approved', by: ['ana'], via: 'slack' },
    });
    expect(results.at(-1)!.counts).toEqual(['fix_execution']);
  });

  it('denied or expired → ESCALATED; a decision about another plan is ignored', () => {
    expect(drive([...toApproval, approvalFor(approvalPlan, 'denied')]).incident.outcome).toMatchObject({ reason: 'approval_denied' });
    expect(drive([...toApproval, approvalFor(approvalPlan, 'expired')]).incident.outcome).toMatchObject({ reason: 'approval_expired' });
    const other = drive([...toApproval, approvalFor(autoPlan)]);
    expect(other.incident.stage).toBe('AWAITING_APPROVAL');
    expect(other.results.at(-1)!.ignored).toBe(true);
  });

  it('the approval deadline escalates when no decision ever comes', () => {
    const { incident } = drive([
      ...toApproval,
      { kind: 'deadline', incidentId: 'inc-1', stage: 'AWAITING_APPROVAL', dueAt: '2026-11-22T10:15:30.000Z' },
    ]);
    expect(incident.outcome).toMatchObject({ reason: 'approval_expired' });
  });

  it('CRITICAL plans ask for two approvers', () => {
    const { results } = drive([...toSynthesizing, proposal({ ...autoPlan, risk: 'CRITICAL' })]);
    expect(results.at(-1)!.commands[0]!.data).toMatchObject({ requiredApprovals: 2 });
  });
});

describe('escalation, with the reason', () => {
  const escalatedBy = (inputs: SagaInput[], ctx = context()) => {
    const { incident, results } = drive(inputs, ctx);
    expect(incident.stage).toBe('ESCALATED');
    const last = results.at(-1)!;
    expect(commandsOf(last).at(-1)).toBe('incident.escalated');
    expect(last.deadline).toBeNull();
    return { reason: incident.outcome?.reason, message: incident.outcome?.message ?? '', incident, last };
  };

  it('low confidence', () => {
    expect(escalatedBy([...toSynthesizing, proposal({ ...autoPlan, confidence: 0.3 })]).reason).toBe('low_confidence');
  });

  it('a script the safety check cannot read: denied, whatever the confidence', () => {
    const script = {
      ...autoPlan,
      steps: [
        { kind: 'script' as const, id: 's', language: 'bash' as const, code: 'rm -rf /var/lib/postgresql', egress: [], reasoning: '' },
      ],
    };
    const { reason, message } = escalatedBy([...toSynthesizing, proposal(script)]);
    expect(reason).toBe('policy_denied');
    expect(message).toContain('cannot be checked');
  });

  it('a plan without verification checks', () => {
    expect(escalatedBy([...toSynthesizing, proposal({ ...autoPlan, checks: [] })]).message).toContain('no verification checks');
  });

  it('shadow mode records what it would have done', () => {
    const ctx = context({ config: { ...config, autonomyFor: () => 'shadow' } });
    const { reason, message } = escalatedBy([...toSynthesizing, proposal(autoPlan)], ctx);
    expect(reason).toBe('shadow_mode');
    expect(message).toContain('would have decided AUTO_EXECUTE');
  });

  it('the same fix looping', () => {
    expect(escalatedBy([...toSynthesizing, proposal(autoPlan)], context({ facts: noFactsWith({ sameFixLastHour: 3 }) })).reason).toBe(
      'loop_detected',
    );
  });

  it('no plan, with the model text kept', () => {
    const { reason, incident, last } = escalatedBy([
      ...toSynthesizing,
      event('remediation.proposed', { outcome: 'no_plan', reason: 'invalid output after repair', modelText: 'I think…' } as never),
    ]);
    expect(reason).toBe('no_plan');
    expect(last.commands.at(-1)!.data).toMatchObject({ details: { modelText: 'I think…' } });
    expect(incident.outcome?.message).toContain('invalid output after repair');
  });

  it('a healthy baseline: nothing runs', () => {
    const { reason, last } = escalatedBy([...toSynthesizing, proposal(autoPlan), verified('baseline', true)]);
    expect(reason).toBe('baseline_healthy');
    expect(commandsOf(last)).toEqual(['incident.escalated']);
  });

  it('a failed step: the earlier steps are undone in reverse, then escalation with both results', () => {
    const compensation = {
      kind: 'action' as const,
      id: 'undo-1',
      action: 'redis.config_set',
      params: { key: 'maxmemory-policy', value: 'noeviction' },
      reasoning: '',
    };
    const base = [...toSynthesizing, proposal(twoStepPlan), verified('baseline', false), executed(0, 'succeeded', { compensation })];
    const failed = drive([...base, executed(1, 'failed')]);
    expect(failed.incident).toMatchObject({ stage: 'EXECUTING', phase: 'compensating' });
    expect(failed.results.at(-1)!.commands[0]!.data).toMatchObject({
      executionId: executionId(0, 'compensate'),
      mode: 'compensate',
      step: compensation,
    });
    const { reason, message } = escalatedBy([...base, executed(1, 'failed'), executed(0, 'succeeded', {}, 'compensate')]);
    expect(reason).toBe('execution_failed');
    expect(message).toContain('step 2 failed');
    expect(message).toContain('compensation: step 1: succeeded');
  });

  it('a failed proof undoes the fix, then escalates', () => {
    const compensation = { kind: 'action' as const, id: 'undo', action: 'redis.config_set', params: {}, reasoning: '' };
    const base = [
      ...toSynthesizing,
      proposal(autoPlan),
      verified('baseline', false),
      executed(0, 'succeeded', { compensation }),
      verified('proof', false),
    ];
    expect(drive(base).incident.phase).toBe('compensating');
    const { reason } = escalatedBy([...base, executed(0, 'succeeded', {}, 'compensate')]);
    expect(reason).toBe('verification_failed');
    expect(
      escalatedBy([...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'succeeded'), verified('proof', false)])
        .reason,
    ).toBe('verification_failed');
  });

  it('a refused step is a policy denial; an unknown outcome is never compensated blindly', () => {
    expect(escalatedBy([...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'refused')]).reason).toBe(
      'policy_denied',
    );
    const { reason, last } = escalatedBy([
      ...toSynthesizing,
      proposal(twoStepPlan),
      verified('baseline', false),
      executed(0, 'succeeded', { compensation: autoPlan.steps[0] }),
      executed(1, 'unknown'),
    ]);
    expect(reason).toBe('execution_unknown');
    expect(commandsOf(last)).toEqual(['incident.escalated']);
  });

  it('a missed deadline; a stale one is ignored', () => {
    expect(
      escalatedBy([
        event('incident.triggered', {}, null),
        { kind: 'deadline', incidentId: 'inc-1', stage: 'INVESTIGATING', dueAt: '2026-11-22T10:01:00.000Z' },
      ]).reason,
    ).toBe('deadline_missed');
    const stale = drive([
      ...toSynthesizing,
      { kind: 'deadline', incidentId: 'inc-1', stage: 'INVESTIGATING', dueAt: '2026-11-22T10:01:00.000Z' },
    ]);
    expect(stale.incident.stage).toBe('SYNTHESIZING');
    expect(stale.results.at(-1)!.ignored).toBe(true);
  });

  it('a person escalates by hand', () => {
    expect(escalatedBy([...toSynthesizing, { kind: 'escalate', incidentId: 'inc-1', by: 'ana', reason: 'customer call' }]).message).toBe(
      'escalated by ana: customer call',
    );
  });
});

describe('review fixes: inputs that used to slip through', () => {
  it('a root cause longer than the context query allows is cut, not fatal', () => {
    const long = { ...exampleData['hypothesis.received'].hypothesis, rootCause: 'x'.repeat(20_000) };
    const { incident, results } = drive([event('incident.triggered', {}, null), event('hypothesis.received', { hypothesis: long })]);
    expect(incident.stage).toBe('HYPOTHESIS_RECEIVED');
    expect(String((results.at(-1)!.commands[0]!.data as { query: string }).query).length).toBe(8192);
  });

  it('a CRITICAL plan needs two distinct approvers: one, or the same one twice, is not enough', () => {
    const critical = { ...autoPlan, risk: 'CRITICAL' as const };
    const base = [...toSynthesizing, proposal(critical)];
    const one = drive([
      ...base,
      event('approval.decided', { planHash: planHash(critical), decision: 'approved', decidedBy: [{ id: 'U1' }] }),
    ]);
    expect(one.incident.stage).toBe('AWAITING_APPROVAL');
    expect(one.results.at(-1)!.timeline.at(-1)!.summary).toContain('needs 2 distinct approvers');
    const same = drive([
      ...base,
      event('approval.decided', { planHash: planHash(critical), decision: 'approved', decidedBy: [{ id: 'U1' }, { id: 'U1' }] }),
    ]);
    expect(same.incident.stage).toBe('AWAITING_APPROVAL');
    const none = drive([...base, event('approval.decided', { planHash: planHash(critical), decision: 'approved', decidedBy: [] })]);
    expect(none.incident.stage).toBe('AWAITING_APPROVAL');
    const two = drive([
      ...base,
      event('approval.decided', { planHash: planHash(critical), decision: 'approved', decidedBy: [{ id: 'U1' }, { id: 'U2' }] }),
    ]);
    expect(two.incident.stage).toBe('EXECUTING');
  });

  it('a plan citing no runbook memory returned gets no runbook credit', () => {
    const uncited = { ...autoPlan, citations: [{ documentId: 'made-up', kind: 'runbook' as const, title: 'x' }] };
    const { incident } = drive([...toSynthesizing, proposal(uncited)]);
    expect(incident.stage).toBe('AWAITING_APPROVAL');
    expect(incident.gate?.reasons.join(' ')).toContain('runbook match 0.00');
  });

  it.each(['no_evidence', 'low_confidence'] as const)('a hypothesis flagged %s needs a human', (flag) => {
    const flagged = { ...exampleData['hypothesis.received'].hypothesis, flags: [flag] };
    const { incident } = drive([
      event('incident.triggered', {}, null),
      event('hypothesis.received', { hypothesis: flagged }),
      event('context.retrieved', { matches: contextMatches }),
      proposal(autoPlan),
    ]);
    expect(incident.stage).toBe('AWAITING_APPROVAL');
  });

  it('an external resolve while our fix runs or is being proven does not cut the proof short', () => {
    const executing = drive([
      ...toSynthesizing,
      proposal(autoPlan),
      verified('baseline', false),
      event('incident.resolved.external', {}, null),
    ]);
    expect(executing.incident).toMatchObject({ stage: 'EXECUTING', phase: 'running' });
    const { incident } = drive([
      ...toSynthesizing,
      proposal(autoPlan),
      verified('baseline', false),
      executed(0, 'succeeded'),
      event('incident.resolved.external', {}, null),
      verified('proof', true),
    ]);
    expect(incident.outcome).toMatchObject({ kind: 'resolved', reason: 'remediated' });
  });

  it('a compensation that never answers is marked unknown and the rest still run, with the original reason', () => {
    const undo = (id: string) => ({ kind: 'action' as const, id, action: 'redis.config_set', params: {}, reasoning: '' });
    const three = {
      ...twoStepPlan,
      steps: [...twoStepPlan.steps, { kind: 'action' as const, id: 'step-3', action: 'http.request', params: {}, reasoning: '' }],
    };
    const base = [
      ...toSynthesizing,
      proposal(three),
      verified('baseline', false),
      executed(0, 'succeeded', { compensation: undo('u1') }),
      executed(1, 'succeeded', { compensation: undo('u2') }),
      executed(2, 'failed'),
    ];
    const stuck = drive([...base, { kind: 'deadline', incidentId: 'inc-1', stage: 'EXECUTING', dueAt: t0.toISOString() }]);
    expect(stuck.incident).toMatchObject({ stage: 'EXECUTING', phase: 'compensating' });
    expect(stuck.incident.compensations.map((c) => c.status)).toEqual(['unknown', 'requested']);
    const { incident } = drive([
      ...base,
      { kind: 'deadline', incidentId: 'inc-1', stage: 'EXECUTING', dueAt: t0.toISOString() },
      executed(0, 'succeeded', {}, 'compensate'),
    ]);
    expect(incident.outcome).toMatchObject({ reason: 'execution_failed' });
    expect(incident.outcome?.message).toContain('step 2: unknown, step 1: succeeded');
  });
});

describe('alerts about an open incident', () => {
  it('a repeat of the alert attaches to the open incident', () => {
    const { incident, results } = drive([...toSynthesizing, event('incident.triggered', {}, null)]);
    expect(incident.occurrences).toBe(2);
    expect(commandsOf(results.at(-1)!)).toEqual([]);
    expect(results.at(-1)!.deadline).toBeUndefined(); // the stage's deadline stands
  });

  it('the same alert through another channel is recorded as correlated, its key and source kept; the stage goes on', () => {
    const other = event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:9c1e' }, null);
    const { incident, results } = drive([...toSynthesizing, other, other]);
    expect(incident.occurrences).toBe(3);
    expect(incident.stage).toBe('SYNTHESIZING');
    expect(incident.correlated).toEqual([{ source: 'alertmanager', dedupKey: 'alertmanager:9c1e', at: expect.any(String) }]);
    expect(results.at(-2)!.timeline.at(-1)!.summary).toBe(
      'the same alert (HighLatency) reported through alertmanager: correlated with this incident',
    );
    expect(results.at(-1)!.timeline.at(-1)!.summary).toBe('the alert fired again (3 occurrences): attached to this incident');
    expect(commandsOf(results.at(-1)!)).toEqual([]);
  });

  it("a correlated trigger's external incident becomes the incident's when it has none", () => {
    const fromPagerDuty = event('incident.triggered', { source: 'pagerduty', dedupKey: 'pd-key', externalIncidentId: 'PGR0VU2' }, null);
    const { incident, results } = drive([
      event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:9c1e' }, null),
      fromPagerDuty,
    ]);
    expect(incident.source).toBe('alertmanager');
    expect(incident.externalIncidentId).toBe('PGR0VU2');
    expect(incident.correlated).toEqual([{ source: 'pagerduty', dedupKey: 'pd-key', at: expect.any(String) }]);
    expect(results.at(-1)!.timeline.at(-1)).toMatchObject({
      kind: 'note',
      summary:
        "the same alert (HighLatency) reported through pagerduty: correlated with this incident; its external incident PGR0VU2 is now this incident's",
      data: { source: 'pagerduty', dedupKey: 'pd-key', externalIncidentId: 'PGR0VU2', adoptedExternalIncidentId: true },
    });
  });

  it('the closing events name the external incident the incident took on after it opened, so it can be resolved there', () => {
    const fromPagerDuty = event('incident.triggered', { source: 'pagerduty', dedupKey: 'pd-key', externalIncidentId: 'PGR0VU2' }, null);
    const opened = event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:9c1e' }, null);
    const escalate = { kind: 'escalate', incidentId: 'inc-1', by: 'ana', reason: 'test' } as const;
    const escalated = (inputs: SagaInput[]) =>
      drive(inputs)
        .results.at(-1)!
        .commands.find((c) => c.type === 'incident.escalated');
    expect(escalated([opened, fromPagerDuty, escalate])?.data).toMatchObject({ externalIncidentId: 'PGR0VU2' });
    // Without one, none is named.
    expect(escalated([opened, escalate])?.data).not.toHaveProperty('externalIncidentId');

    const resolvedByPager = event('incident.resolved.external', { dedupKey: 'pd-key', externalIncidentId: 'PGR0VU2' }, null);
    const resolved = drive([opened, fromPagerDuty, resolvedByPager])
      .results.at(-1)!
      .commands.find((c) => c.type === 'incident.resolved');
    expect(resolved?.data).toMatchObject({ how: 'external', externalIncidentId: 'PGR0VU2' });
  });

  it('an incident keeps the external incident it has; a different one from a correlated trigger is recorded, not dropped', () => {
    const { incident, results } = drive([
      event('incident.triggered', { source: 'pagerduty', dedupKey: 'pd-first', externalIncidentId: 'PFIRST1' }, null),
      event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:9c1e', externalIncidentId: 'PSECOND' }, null),
    ]);
    expect(incident.externalIncidentId).toBe('PFIRST1');
    expect(results.at(-1)!.timeline.at(-1)).toMatchObject({
      kind: 'note',
      summary:
        'the same alert (HighLatency) reported through alertmanager: correlated with this incident; its external incident PSECOND is not adopted, this incident keeps PFIRST1',
      data: { externalIncidentId: 'PSECOND', keptExternalIncidentId: 'PFIRST1' },
    });
    expect(results.at(-1)!.timeline.at(-1)!.data).not.toHaveProperty('adoptedExternalIncidentId');
  });

  it('a correlated trigger without an external incident leaves the one the incident has', () => {
    const { incident, results } = drive([
      event('incident.triggered', { source: 'pagerduty', dedupKey: 'pd-first', externalIncidentId: 'PFIRST1' }, null),
      event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:9c1e' }, null),
    ]);
    expect(incident.externalIncidentId).toBe('PFIRST1');
    expect(results.at(-1)!.timeline.at(-1)!.summary).toBe(
      'the same alert (HighLatency) reported through alertmanager: correlated with this incident',
    );
  });

  it('a re-fire within the stability window opens a new incident linked to the old one', () => {
    const { incident, results } = drive(
      [event('incident.triggered', {}, null)],
      context({ facts: noFactsWith({ refiredFrom: 'inc-old' }) }),
    );
    expect(incident.refiredFrom).toBe('inc-old');
    expect(results[0]!.timeline.some((e) => e.summary.includes('re-fired'))).toBe(true);
  });

  it('resolved in the paging system → RESOLVED (external) from any open stage', () => {
    const { incident, results } = drive([...toSynthesizing, event('incident.resolved.external', {}, null)]);
    expect(incident.outcome).toMatchObject({ kind: 'resolved', reason: 'external' });
    expect(results.at(-1)!.commands[0]!.data).toMatchObject({ how: 'external', title: 'payment-api p95 latency above 2s' });
    // No plan and nothing verified: the resolution carries the hypothesis but no plan or verification.
    expect(results.at(-1)!.commands[0]!.data).toHaveProperty('hypothesis');
    expect(results.at(-1)!.commands[0]!.data).not.toHaveProperty('plan');
    expect(results.at(-1)!.commands[0]!.data).not.toHaveProperty('verification');
  });

  it('hypothesis flags become edge cases that need a human', () => {
    const ambiguous = { ...exampleData['hypothesis.received'].hypothesis, flags: ['ambiguous' as const] };
    const { incident } = drive([
      event('incident.triggered', {}, null),
      event('hypothesis.received', { hypothesis: ambiguous }),
      event('context.retrieved', { matches: [] }),
      proposal(autoPlan),
    ]);
    expect(incident.stage).toBe('AWAITING_APPROVAL');
    expect(incident.flags).toContain('ambiguous_hypothesis');
    expect(incident.gate?.reasons.join(' ')).toContain('runbook match 0.00');
  });
});

describe('every stage × every input', () => {
  const undo = { kind: 'action' as const, id: 'undo', action: 'redis.config_set', params: {}, reasoning: '' };
  type Place =
    | Exclude<Stage, 'TRIGGERED' | 'CONTEXT_RETRIEVED' | 'EXECUTING'>
    | 'EXECUTING (baseline)'
    | 'EXECUTING (running)'
    | 'EXECUTING (compensating)';
  const reach: Record<Place, SagaInput[]> = {
    INVESTIGATING: [event('incident.triggered', {}, null)],
    HYPOTHESIS_RECEIVED: toSynthesizing.slice(0, 2),
    SYNTHESIZING: toSynthesizing,
    AWAITING_APPROVAL: [...toSynthesizing, proposal(approvalPlan)],
    'EXECUTING (baseline)': [...toSynthesizing, proposal(autoPlan)],
    'EXECUTING (running)': [...toSynthesizing, proposal(autoPlan), verified('baseline', false)],
    'EXECUTING (compensating)': [
      ...toSynthesizing,
      proposal(twoStepPlan),
      verified('baseline', false),
      executed(0, 'succeeded', { compensation: undo }),
      executed(1, 'failed'),
    ],
    VERIFYING: [...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'succeeded')],
    RESOLVED: [...toSynthesizing, proposal(autoPlan), verified('baseline', false), executed(0, 'succeeded'), verified('proof', true)],
    ESCALATED: [...toSynthesizing, { kind: 'escalate', incidentId: 'inc-1', by: 'ana', reason: 'test' }],
  };
  const places = [...Object.keys(reach), 'TRIGGERED', 'CONTEXT_RETRIEVED'] as Array<Place | 'TRIGGERED' | 'CONTEXT_RETRIEVED'>;
  const incidentAt = (place: (typeof places)[number]): Incident =>
    place === 'TRIGGERED' || place === 'CONTEXT_RETRIEVED'
      ? // Transient stages, never stored; the function must still cope if handed one.
        { ...drive(reach.SYNTHESIZING).incident, stage: place }
      : drive(reach[place]).incident;

  /** The inputs each open place acts on; every other input must be recorded as ignored (or a note). */
  const acts: Record<string, string[]> = {
    INVESTIGATING: ['hypothesis.received'],
    HYPOTHESIS_RECEIVED: ['context.retrieved'],
    SYNTHESIZING: ['remediation.proposed'],
    AWAITING_APPROVAL: ['approval.decided'],
    'EXECUTING (baseline)': ['verification.completed'],
    'EXECUTING (running)': ['execution.completed'],
    'EXECUTING (compensating)': ['execution.completed'],
    VERIFYING: ['verification.completed'],
  };
  const alwaysActs = ['incident.triggered', 'incident.annotated', 'incident.resolved.external', 'manual escalation'];
  const inputs: Array<[string, SagaInput]> = [
    ...eventTypes.map(
      (type: EventType) =>
        [
          type,
          event(type, {}, ['incident.triggered', 'incident.annotated', 'incident.resolved.external'].includes(type) ? null : 'inc-1'),
        ] as [string, SagaInput],
    ),
    ...stages.map(
      (stage) => [`deadline of ${stage}`, { kind: 'deadline', incidentId: 'inc-1', stage, dueAt: t0.toISOString() }] as [string, SagaInput],
    ),
    ['manual escalation', { kind: 'escalate', incidentId: 'inc-1', by: 'ana', reason: 'test' }],
  ];

  for (const place of places) {
    it.each(inputs)(`${place} × %s: never throws, records the input, acts only where it should`, (name, input) => {
      const before = incidentAt(place);
      const result = transition(before, input, context());
      expect(result.incident).not.toBeNull();
      expect(result.timeline[0]!.kind).toBe('event');
      const closed = before.stage === 'RESOLVED' || before.stage === 'ESCALATED';
      if (closed) {
        expect(result.ignored).toBe(true);
        expect(result.commands).toEqual([]);
        expect(result.incident!.stage).toBe(before.stage);
        expect(result.timeline.at(-1)!.summary).toContain(`already ${before.stage}`);
        return;
      }
      const ownDeadline = name === `deadline of ${before.stage}`;
      const expected = alwaysActs.includes(name) || ownDeadline || (acts[place] ?? []).includes(name);
      if (!expected) {
        // Not this place's business: recorded with a reason, state unchanged, nothing sent.
        expect(result.commands).toEqual([]);
        expect(result.incident!.stage).toBe(before.stage);
        expect(result.timeline.slice(1).every((e) => e.kind === 'ignored' || e.kind === 'note')).toBe(true);
        expect(result.timeline.at(-1)!.summary.length).toBeGreaterThan(0);
      }
      for (const command of result.commands) {
        expect(command.incidentId).toBe(before.id);
        expect(command.source).toBe('orchestrator');
        if (input.kind === 'event') expect(command.causationId).toBe(input.event.id);
      }
    });
  }

  it('is deterministic: the same input on the same incident gives the same result, ids included', () => {
    const incident = drive(toSynthesizing).incident;
    const input = proposal(autoPlan);
    expect(transition(incident, input, context())).toEqual(transition(incident, input, context()));
  });
});
