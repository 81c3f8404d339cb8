import type { ContextMatch, EdgeCaseFlag, EscalationReason, HypothesisFlag, VigilEvent } from '@vigil/events';
import { decideGate, type AutonomyLevel } from '@vigil/policy';
import { isClosed, type Incident } from './incident.js';
import type { SagaInput } from './inputs.js';
import { planHash } from './plan-hash.js';
import { recordInput, Step, type TransitionContext, type TransitionResult } from './transition.js';

/**
 * The saga's transition function: (incident, input) → (incident', commands, timeline). Pure: no
 * I/O, no clock, no randomness beyond what the context hands in, so every decision can be
 * replayed against history. An input that does not fit the incident's stage is recorded as
 * ignored with the reason, never thrown.
 */
export function transition(incident: Incident | null, input: SagaInput, ctx: TransitionContext): TransitionResult {
  if (incident === null) {
    if (input.kind === 'event' && input.event.type === 'incident.triggered') return open(input.event, input, ctx);
    return {
      incident: null,
      commands: [],
      timeline: [{ kind: 'ignored', summary: 'no incident for this input' }],
      counts: [],
      ignored: true,
    };
  }
  const step = new Step(incident, input, ctx);
  recordInput(step);
  if (isClosed(incident.stage)) {
    step.ignore(`the incident is already ${incident.stage}`);
    return step.result();
  }
  switch (input.kind) {
    case 'deadline':
      onDeadline(step, input);
      break;
    case 'escalate':
      step.escalate('manual', `escalated by ${input.by}: ${input.reason}`, { by: input.by });
      break;
    case 'event':
      onEvent(step, input.event);
      break;
  }
  return step.result();
}

function open(event: VigilEvent<'incident.triggered'>, input: SagaInput, ctx: TransitionContext): TransitionResult {
  const { data } = event;
  const now = ctx.now.toISOString();
  const incident: Incident = {
    id: ctx.newIncidentId(),
    version: 0,
    stage: 'TRIGGERED',
    phase: null,
    service: data.service,
    title: data.title,
    dedupKey: data.dedupKey,
    source: data.source,
    severity: data.severity,
    ...(data.alertName ? { alertName: data.alertName } : {}),
    labels: data.labels,
    ...(data.externalIncidentId ? { externalIncidentId: data.externalIncidentId } : {}),
    ...(data.externalUrl ? { externalUrl: data.externalUrl } : {}),
    occurrences: 1,
    triggeredAt: now,
    lastSeenAt: now,
    stageEnteredAt: now,
    ...(ctx.facts.refiredFrom ? { refiredFrom: ctx.facts.refiredFrom } : {}),
    flags: [],
    steps: [],
    compensations: [],
    verification: {},
  };
  const step = new Step(incident, input, ctx);
  recordInput(step);
  step.timeline.push({ kind: 'stage', summary: 'TRIGGERED', data: { to: 'TRIGGERED' } });
  if (ctx.facts.refiredFrom) {
    step.note(`re-fired within the stability window of incident ${ctx.facts.refiredFrom}: its fix did not hold`, {
      refiredFrom: ctx.facts.refiredFrom,
    });
  }
  step.enter('INVESTIGATING');
  step.emit(
    'investigation.requested',
    {
      service: data.service,
      title: data.title,
      ...(data.alertName ? { alertName: data.alertName } : {}),
      ...(data.summary ? { summary: data.summary } : {}),
      labels: data.labels,
      ...(data.externalIncidentId ? { externalIncidentId: data.externalIncidentId } : {}),
      clericWaitMs: ctx.config.clericWaitMs,
    },
    'asked the investigator for a root-cause hypothesis',
  );
  return step.result();
}

function onEvent(step: Step, event: VigilEvent): void {
  const { incident } = step;
  switch (event.type) {
    case 'incident.triggered': {
      const { dedupKey, source } = event.data;
      const externalIncidentId = event.data.externalIncidentId || undefined;
      const known = dedupKey === incident.dedupKey || (incident.correlated ?? []).some((c) => c.dedupKey === dedupKey);
      if (!known) {
        // The store attaches another key only for the same service and alert name from another source.
        // The paging system's incident for it (a PagerDuty webhook's incident id) becomes this
        // incident's when it has none yet, so that incident's notes (incident.annotated) find it.
        // One it already has stays (write-back posts there: it maps the incident to the id its
        // investigation.requested carried, and does not learn a later one); the other is recorded.
        const adopts = externalIncidentId !== undefined && incident.externalIncidentId === undefined;
        const differs = externalIncidentId !== undefined && !adopts && externalIncidentId !== incident.externalIncidentId;
        step.update({
          occurrences: incident.occurrences + 1,
          lastSeenAt: step.nowIso,
          correlated: [...(incident.correlated ?? []), { source, dedupKey, at: step.nowIso }],
          ...(adopts ? { externalIncidentId } : {}),
        });
        step.note(
          `the same alert (${incident.alertName ?? incident.title}) reported through ${source}: correlated with this incident${
            adopts ? `; its external incident ${externalIncidentId} is now this incident's` : ''
          }${differs ? `; its external incident ${externalIncidentId} is not adopted, this incident keeps ${incident.externalIncidentId}` : ''}`,
          {
            source,
            dedupKey,
            ...(externalIncidentId !== undefined ? { externalIncidentId } : {}),
            ...(adopts ? { adoptedExternalIncidentId: true } : {}),
            ...(differs ? { keptExternalIncidentId: incident.externalIncidentId } : {}),
          },
        );
        return;
      }
      step.update({ occurrences: incident.occurrences + 1, lastSeenAt: step.nowIso });
      step.note(`the alert fired again (${incident.occurrences + 1} occurrences): attached to this incident`);
      return;
    }
    case 'incident.annotated':
      step.note(`note from ${event.data.note.author.name ?? event.data.note.author.id ?? 'someone'} on ${event.data.source}`, {
        content: event.data.note.content.slice(0, 2000),
      });
      return;
    case 'incident.resolved.external':
      if (incident.stage === 'EXECUTING' || incident.stage === 'VERIFYING') {
        // Often our own fix clearing the alert: finish the steps and the proof, so the outcome
        // (and what memory learns) is proven, not assumed.
        return step.note(`${event.data.source} reports the alert resolved; continuing to prove the fix`);
      }
      step.resolve('external', `resolved in ${event.data.source}${event.data.reason ? `: ${event.data.reason}` : ''}`);
      return;
    case 'hypothesis.received':
      if (incident.stage !== 'INVESTIGATING')
        return void step.note('a later hypothesis, recorded but not acted on', { hypothesis: event.data.hypothesis });
      step.update({ hypothesis: event.data.hypothesis });
      step.enter('HYPOTHESIS_RECEIVED');
      step.emit(
        'context.requested',
        {
          service: incident.service,
          // The query has a schema limit; a long root cause (a verbose note) must not break the saga.
          query: `${event.data.hypothesis.rootCause}\n${incident.title}`.slice(0, 8192),
          ...(incident.alertName ? { alertName: incident.alertName } : {}),
          hypothesis: event.data.hypothesis,
          limit: step.ctx.config.contextLimit,
        },
        'asked memory for runbooks and past incidents',
      );
      return;
    case 'context.retrieved': {
      if (incident.stage !== 'HYPOTHESIS_RECEIVED') return step.ignore(`context arrived in ${incident.stage}`);
      step.update({ context: event.data.matches });
      step.enter('CONTEXT_RETRIEVED');
      const hypothesis = incident.hypothesis;
      if (!hypothesis) return step.escalate('no_plan', 'context arrived without a hypothesis');
      step.emit(
        'remediation.requested',
        { service: incident.service, title: incident.title, hypothesis, context: event.data.matches },
        'asked the reasoner for a plan',
      );
      step.enter('SYNTHESIZING');
      return;
    }
    case 'remediation.proposed':
      if (incident.stage !== 'SYNTHESIZING') return step.ignore(`a proposal arrived in ${incident.stage}`);
      return onProposal(step, event);
    case 'approval.decided':
      if (incident.stage !== 'AWAITING_APPROVAL') return step.ignore(`an approval decision arrived in ${incident.stage}`);
      if (event.data.planHash !== incident.planHash) return step.ignore('the decision is for another plan than the one awaiting approval');
      if (event.data.decision === 'approved') {
        const approvers = new Set(event.data.decidedBy.map((p) => p.id));
        const required = incident.gate?.requiredApprovals ?? 1;
        if (approvers.size < required)
          return step.ignore(`an approval needs ${required} distinct approvers; this one has ${approvers.size}`);
      }
      step.update({
        approval: {
          decision: event.data.decision,
          by: event.data.decidedBy.map((p) => p.name ?? p.id),
          via: event.data.via,
          ...(event.data.reason ? { reason: event.data.reason } : {}),
        },
      });
      if (event.data.decision === 'approved') return startExecution(step);
      if (event.data.decision === 'denied') {
        return step.escalate(
          'approval_denied',
          `denied by ${event.data.decidedBy.map((p) => p.name ?? p.id).join(', ')}${event.data.reason ? `: ${event.data.reason}` : ''}`,
        );
      }
      return step.escalate('approval_expired', 'nobody approved the plan before the request expired');
    case 'verification.completed':
      return onVerification(step, event);
    case 'execution.completed':
      return onExecution(step, event);
    default:
      return step.ignore(`the orchestrator does not act on ${event.type}`);
  }
}

const levelOrder: AutonomyLevel[] = ['shadow', 'suggest', 'approve', 'auto'];

/** Every hypothesis flag is an edge case the gate must see. */
const hypothesisFlagMap: Record<HypothesisFlag, EdgeCaseFlag> = {
  ambiguous: 'ambiguous_hypothesis',
  conflicting_sources: 'conflicting_sources',
  multiple_services: 'multiple_services',
  low_confidence: 'ambiguous_hypothesis',
  no_evidence: 'ambiguous_hypothesis',
};

/**
 * The best score among the runbooks memory returned that the plan cites; 0 when it cites none of
 * them — a plan no retrieved runbook backs gets no credit for runbooks it did not follow.
 */
function runbookMatch(context: readonly ContextMatch[], cited: readonly string[]): number {
  const scores = context.filter((m) => m.citation.kind === 'runbook' && cited.includes(m.citation.documentId)).map((m) => m.score);
  return scores.length > 0 ? Math.max(...scores) : 0;
}

function onProposal(step: Step, event: VigilEvent<'remediation.proposed'>): void {
  const { incident, ctx } = step;
  const proposal = event.data;
  if (proposal.outcome === 'no_plan')
    return step.escalate('no_plan', `no plan: ${proposal.reason}`, proposal.modelText ? { modelText: proposal.modelText } : {});
  const plan = proposal.plan;
  const hash = planHash(plan);
  const context = incident.context ?? [];
  const cited = plan.citations.map((c) => c.documentId);
  const flags = new Set<EdgeCaseFlag>(proposal.flags);
  for (const flag of incident.hypothesis?.flags ?? []) flags.add(hypothesisFlagMap[flag]);
  if (context.some((m) => cited.includes(m.citation.documentId) && m.standing === 'ineffective')) flags.add('previously_ineffective');
  const safety = plan.steps.map((s) => ctx.safety.check(s));
  const levels = plan.steps.map((s) =>
    ctx.config.autonomyFor(incident.service, incident.alertName, s.kind === 'action' ? s.action : 'script.run'),
  );
  const autonomy = levels.reduce<AutonomyLevel>((lowest, l) => (levelOrder.indexOf(l) < levelOrder.indexOf(lowest) ? l : lowest), 'auto');
  const confidence = Math.min(plan.confidence, incident.hypothesis?.confidence ?? plan.confidence);
  const input = {
    confidence,
    runbookMatch: runbookMatch(context, cited),
    risk: plan.risk,
    flags: [...flags],
    safety,
    autoExecutionsLastHour: ctx.facts.autoExecutionsLastHour,
    sameFixLastHour: ctx.facts.sameFixLastHour,
    hasVerificationChecks: plan.checks.length > 0,
    autonomy,
  };
  const gate = decideGate(input, ctx.config.thresholdsFor(incident.service));
  step.update({ plan, planHash: hash, flags: [...flags], gate: { ...gate, autonomy } });
  step.decide(`gate: ${gate.decision}`, {
    ...input,
    decision: gate.decision,
    uncapped: gate.uncapped,
    reasons: gate.reasons,
    planHash: hash,
  });

  if (gate.decision === 'ESCALATE') {
    const reason: EscalationReason = safety.some((v) => v.decision === 'deny')
      ? 'policy_denied'
      : autonomy === 'shadow'
        ? 'shadow_mode'
        : input.sameFixLastHour >= ctx.config.thresholdsFor(incident.service).loopLimit
          ? 'loop_detected'
          : confidence < ctx.config.thresholdsFor(incident.service).escalateBelowConfidence
            ? 'low_confidence'
            : 'gate_escalate';
    return step.escalate(reason, gate.reasons.join('; '), { gate: gate.decision, uncapped: gate.uncapped });
  }
  if (gate.decision === 'REQUIRE_APPROVAL') {
    const expiresAt = new Date(ctx.now.getTime() + ctx.config.approvalTtlMs).toISOString();
    step.enter('AWAITING_APPROVAL');
    // The approver expires the request itself; this deadline is the saga's own backstop.
    step.setDeadline('AWAITING_APPROVAL', ctx.config.approvalTtlMs + ctx.config.deadlinesMs.AWAITING_APPROVAL);
    step.emit(
      'approval.requested',
      {
        service: incident.service,
        planHash: hash,
        plan,
        risk: plan.risk,
        confidence,
        reasons: gate.reasons,
        expiresAt,
        requiredApprovals: gate.requiredApprovals,
      },
      `asked for approval (${gate.requiredApprovals} approver${gate.requiredApprovals > 1 ? 's' : ''})`,
    );
    return;
  }
  step.counts.push('auto_execution');
  startExecution(step);
}

/** Baseline first: the failure must be real before anything runs. */
function startExecution(step: Step): void {
  const plan = step.incident.plan;
  if (!plan) return step.escalate('no_plan', 'no plan to execute');
  step.counts.push('fix_execution');
  step.enter('EXECUTING', 'baseline');
  step.emit(
    'verification.requested',
    {
      service: step.incident.service,
      mode: 'baseline',
      checks: plan.checks,
      consecutivePasses: 1,
      deadlineMs: step.ctx.config.proof.deadlineMs,
    },
    'checked the failure is real before changing anything',
  );
}

function onVerification(step: Step, event: VigilEvent<'verification.completed'>): void {
  const { incident } = step;
  const result = event.data;
  if (result.mode === 'baseline' && incident.stage === 'EXECUTING' && incident.phase === 'baseline') {
    step.update({ verification: { ...incident.verification, baseline: result } });
    if (result.passed) {
      return step.escalate('baseline_healthy', 'the checks pass before any fix: the failure could not be confirmed, so nothing was run');
    }
    return runStep(step, 0);
  }
  if (result.mode === 'proof' && incident.stage === 'VERIFYING') {
    step.update({ verification: { ...incident.verification, proof: result } });
    if (result.passed) return step.resolve('remediated', `verified: ${result.rounds} rounds, pass ratio ${result.passRatio}`);
    return compensateThenEscalate(
      step,
      'verification_failed',
      `the fix did not hold: pass ratio ${result.passRatio} after ${result.rounds} rounds`,
    );
  }
  step.ignore(`a ${result.mode} verification result arrived in ${incident.stage}${incident.phase ? ` (${incident.phase})` : ''}`);
}

function runStep(step: Step, index: number): void {
  const { incident } = step;
  const plan = incident.plan;
  const planStep = plan?.steps[index];
  if (!plan || !planStep || !incident.planHash) return step.escalate('no_plan', `plan step ${index + 1} is missing`);
  const executionId = `${incident.id}:${index}:run`;
  step.update({ steps: [...incident.steps, { index, stepId: planStep.id, executionId, status: 'requested' }] });
  if (incident.phase !== 'running') step.enter('EXECUTING', 'running');
  else step.setDeadline('EXECUTING');
  // The first evidence that states a fact wins, as when the planner bound the step's parameters
  // (the strongest comes first): the executor checks the step against the same facts it was planned from.
  const evidenceFacts: Record<string, unknown> = {};
  for (const evidence of incident.hypothesis?.evidence ?? []) {
    for (const [key, value] of Object.entries(evidence.facts)) if (!Object.hasOwn(evidenceFacts, key)) evidenceFacts[key] = value;
  }
  step.emit(
    'execution.requested',
    {
      executionId,
      service: incident.service,
      planHash: incident.planHash,
      stepIndex: index,
      step: planStep,
      mode: 'run',
      approvalRequired: incident.gate?.decision === 'REQUIRE_APPROVAL',
      evidenceFacts,
    },
    `ran step ${index + 1} of ${plan.steps.length}: ${planStep.kind === 'action' ? planStep.action : `${planStep.language} script`}`,
  );
}

function onExecution(step: Step, event: VigilEvent<'execution.completed'>): void {
  const { incident } = step;
  const result = event.data;
  if (incident.stage === 'EXECUTING' && incident.phase === 'running') {
    const current = incident.steps.at(-1);
    if (!current || current.executionId !== result.executionId || current.status !== 'requested') {
      return step.ignore(`execution ${result.executionId} is not the step being run`);
    }
    const done = {
      ...current,
      status: result.status,
      summary: result.summary,
      ...(result.compensation ? { compensation: result.compensation } : {}),
    };
    step.update({ steps: [...incident.steps.slice(0, -1), done] });
    switch (result.status) {
      case 'succeeded': {
        const next = current.index + 1;
        if (next < (incident.plan?.steps.length ?? 0)) return runStep(step, next);
        step.enter('VERIFYING');
        const { proof } = step.ctx.config;
        step.emit(
          'verification.requested',
          { service: incident.service, mode: 'proof', checks: incident.plan?.checks ?? [], ...proof },
          `proving the fix: ${proof.consecutivePasses} consecutive passing rounds`,
        );
        return;
      }
      case 'refused':
        return compensateThenEscalate(step, 'policy_denied', `step ${current.index + 1} was refused: ${result.summary}`);
      case 'failed':
        return compensateThenEscalate(step, 'execution_failed', `step ${current.index + 1} failed: ${result.summary}`);
      case 'unknown':
        // The step may or may not have run: undoing earlier steps blindly could do harm.
        return step.escalate('execution_unknown', `step ${current.index + 1} ended in an unknown state: ${result.summary}`);
    }
  }
  if (incident.stage === 'EXECUTING' && incident.phase === 'compensating') return onCompensation(step, event);
  step.ignore(`execution ${result.executionId} completed in ${incident.stage}`);
}

/** Runs the executed steps' inverses in reverse order, then escalates with both stories. */
function compensateThenEscalate(step: Step, reason: EscalationReason, message: string): void {
  const { incident } = step;
  const toUndo = incident.steps
    .flatMap((s) => (s.status === 'succeeded' && s.compensation ? [{ index: s.index, step: s.compensation }] : []))
    .reverse()
    .map((s) => ({ ...s, executionId: `${incident.id}:${s.index}:compensate`, status: 'pending' as const }));
  if (toUndo.length === 0) return step.escalate(reason, message);
  step.update({ compensations: toUndo, pendingEscalation: { reason, message } });
  step.enter('EXECUTING', 'compensating');
  requestCompensation(step, 0);
}

function requestCompensation(step: Step, position: number): void {
  const { incident } = step;
  const item = incident.compensations[position];
  if (!item || !incident.planHash) return;
  step.update({ compensations: incident.compensations.map((c, i) => (i === position ? { ...c, status: 'requested' } : c)) });
  step.setDeadline('EXECUTING');
  step.emit(
    'execution.requested',
    {
      executionId: item.executionId,
      service: incident.service,
      planHash: incident.planHash,
      stepIndex: item.index,
      step: item.step,
      mode: 'compensate',
      evidenceFacts: {},
    },
    `undoing step ${item.index + 1}`,
  );
}

function onCompensation(step: Step, event: VigilEvent<'execution.completed'>): void {
  const { incident } = step;
  const position = incident.compensations.findIndex((c) => c.executionId === event.data.executionId && c.status === 'requested');
  if (position < 0) return step.ignore(`execution ${event.data.executionId} is not the compensation being run`);
  step.update({ compensations: incident.compensations.map((c, i) => (i === position ? { ...c, status: event.data.status } : c)) });
  finishCompensation(step, position);
}

/** After compensation `position` settled: the next one, or escalation with the whole story. */
function finishCompensation(step: Step, position: number): void {
  const { incident } = step;
  if (position + 1 < incident.compensations.length) return requestCompensation(step, position + 1);
  const pending = incident.pendingEscalation ?? { reason: 'execution_failed' as const, message: 'escalated after compensation' };
  const undone = step.incident.compensations.map((c) => `step ${c.index + 1}: ${c.status}`).join(', ');
  step.escalate(pending.reason, `${pending.message}; compensation: ${undone}`, { compensations: step.incident.compensations });
}

function onDeadline(step: Step, input: Extract<SagaInput, { kind: 'deadline' }>): void {
  if (input.stage !== step.incident.stage) return step.ignore(`a stale deadline of ${input.stage}`);
  if (step.incident.phase === 'compensating') {
    // An undo that never answered is unknown; the other undos still run, and the original
    // reason for escalating is kept.
    const position = step.incident.compensations.findIndex((c) => c.status === 'requested');
    if (position >= 0) {
      step.update({ compensations: step.incident.compensations.map((c, i) => (i === position ? { ...c, status: 'unknown' } : c)) });
      step.note(`undoing step ${(step.incident.compensations[position]?.index ?? 0) + 1} did not answer in time`);
      return finishCompensation(step, position);
    }
  }
  const waited = Math.round((Date.parse(input.dueAt) - Date.parse(step.incident.stageEnteredAt)) / 1000);
  if (input.stage === 'AWAITING_APPROVAL') return step.escalate('approval_expired', `no approval decision within ${waited} s`);
  step.escalate('deadline_missed', `${input.stage} passed its deadline (${waited} s)`);
}
