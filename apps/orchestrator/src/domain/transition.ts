import {
  createEvent,
  deterministicUuidv7,
  type EscalationReason,
  type EventDataInput,
  type EventType,
  type VerificationCompleted,
  type VerificationSummary,
  type VigilEvent,
} from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import { isClosed, type ExecutionPhase, type Incident, type Stage } from './incident.js';
import { describeInput, type SagaInput } from './inputs.js';
import type { DeadlineStage, SagaConfig, SagaFacts } from './saga-config.js';

/** A timeline entry before the store chains and stamps it. */
export interface TimelineDraft {
  kind: 'event' | 'command' | 'stage' | 'decision' | 'ignored' | 'note';
  summary: string;
  eventId?: string;
  eventType?: string;
  data?: Record<string, unknown>;
}

export interface TransitionResult {
  /** The incident after the input; null when an input about no incident was ignored. */
  incident: Incident | null;
  /** Events to publish (through the outbox), in order. */
  commands: VigilEvent[];
  timeline: TimelineDraft[];
  /** The incident's one active deadline after this input: undefined keeps it, null clears it. */
  deadline?: { stage: Stage; dueAt: string } | null;
  /** Executions to count against the blast-radius budget and the loop limit. */
  counts: Array<'auto_execution' | 'fix_execution'>;
  ignored: boolean;
}

export interface TransitionContext {
  now: Date;
  config: SagaConfig;
  facts: SagaFacts;
  safety: SafetyCheck;
  /** Id for a new incident (time-ordered). */
  newIncidentId: () => string;
}

/**
 * Accumulates what one input does to one incident. Every change goes through it, so the
 * timeline can never miss a stage change or an outgoing command.
 */
export class Step {
  readonly commands: VigilEvent[] = [];
  readonly timeline: TimelineDraft[] = [];
  readonly counts: TransitionResult['counts'] = [];
  deadline: TransitionResult['deadline'];
  ignored = false;

  constructor(
    public incident: Incident,
    readonly input: SagaInput,
    readonly ctx: TransitionContext,
  ) {}

  get nowIso(): string {
    return this.ctx.now.toISOString();
  }

  enter(stage: Stage, phase: ExecutionPhase | null = null): void {
    const from = this.incident.stage;
    this.incident = { ...this.incident, stage, phase, stageEnteredAt: this.nowIso };
    this.timeline.push({
      kind: 'stage',
      summary: phase ? `${stage} (${phase})` : stage,
      data: { from, to: stage, ...(phase ? { phase } : {}) },
    });
    if (isClosed(stage)) this.deadline = null;
    else if (stage in this.ctx.config.deadlinesMs) this.setDeadline(stage as DeadlineStage);
  }

  setDeadline(stage: DeadlineStage, afterMs = this.ctx.config.deadlinesMs[stage]): void {
    this.deadline = { stage, dueAt: new Date(this.ctx.now.getTime() + afterMs).toISOString() };
  }

  emit<T extends EventType>(type: T, data: EventDataInput<T>, summary: string): VigilEvent<T> {
    const cause = this.input.kind === 'event' ? this.input.event : undefined;
    // Deterministic ids: re-running the same input on the same version yields the same events,
    // so a retried transaction or a replay never publishes a second copy.
    const key = `${this.incident.id}:${this.incident.version}:${cause?.id ?? describeInput(this.input)}:${this.commands.length}`;
    const event = createEvent(type, data, {
      source: 'orchestrator',
      incidentId: this.incident.id,
      id: deterministicUuidv7(key, this.ctx.now.getTime()),
      occurredAt: this.ctx.now,
      correlationId: this.incident.id,
      ...(cause ? { causedBy: { id: cause.id, correlationId: this.incident.id } } : {}),
    });
    this.commands.push(event as VigilEvent);
    this.timeline.push({ kind: 'command', summary, eventId: event.id, eventType: type, data: event.data as Record<string, unknown> });
    return event;
  }

  decide(summary: string, data: Record<string, unknown>): void {
    this.timeline.push({ kind: 'decision', summary, data });
  }

  note(summary: string, data?: Record<string, unknown>): void {
    this.timeline.push({ kind: 'note', summary, ...(data ? { data } : {}) });
  }

  ignore(reason: string): void {
    this.ignored = true;
    this.timeline.push({ kind: 'ignored', summary: reason });
  }

  update(patch: Partial<Incident>): void {
    this.incident = { ...this.incident, ...patch };
  }

  escalate(reason: EscalationReason, message: string, details: Record<string, unknown> = {}): void {
    const stage = this.incident.stage;
    this.update({ outcome: { kind: 'escalated', reason, message, at: this.nowIso } });
    this.enter('ESCALATED');
    this.emit(
      'incident.escalated',
      { service: this.incident.service, stage, reason, message, details, ...this.pagerIncident() },
      `escalated: ${message}`,
    );
  }

  /** The paging system's incident as the incident knows it now, for the closing events (write-back reads it there). */
  private pagerIncident(): { externalIncidentId?: string } {
    return this.incident.externalIncidentId ? { externalIncidentId: this.incident.externalIncidentId } : {};
  }

  resolve(how: 'remediated' | 'external' | 'manual', message: string): void {
    this.update({ outcome: { kind: 'resolved', reason: how, message, at: this.nowIso } });
    this.enter('RESOLVED');
    const mttrMs = Math.max(0, this.ctx.now.getTime() - Date.parse(this.incident.triggeredAt));
    this.emit(
      'incident.resolved',
      {
        service: this.incident.service,
        dedupKey: this.incident.dedupKey,
        how,
        ...(this.incident.plan ? { plan: this.incident.plan } : {}),
        resolvedAt: this.nowIso,
        mttrMs,
        // Provenance for memory, which learns from the outcome (DESIGN.md §2, the stability window).
        title: this.incident.title,
        ...(this.incident.alertName ? { alertName: this.incident.alertName } : {}),
        ...(this.incident.hypothesis ? { hypothesis: this.incident.hypothesis } : {}),
        ...(this.incident.plan || this.incident.verification.baseline || this.incident.verification.proof
          ? { verification: verificationSummary(this.incident) }
          : {}),
        ...this.pagerIncident(),
      },
      `resolved (${how}) after ${Math.round(mttrMs / 1000)} s`,
    );
  }

  result(): TransitionResult {
    return {
      incident: this.incident,
      commands: this.commands,
      timeline: this.timeline,
      ...(this.deadline === undefined ? {} : { deadline: this.deadline }),
      counts: this.counts,
      ignored: this.ignored,
    };
  }
}

/** The plan's check names and the baseline and proof results, as `incident.resolved` carries them. */
function verificationSummary(incident: Incident): VerificationSummary {
  const run = (r: VerificationCompleted | undefined) => (r ? { passed: r.passed, passRatio: r.passRatio, rounds: r.rounds } : undefined);
  const baseline = run(incident.verification.baseline);
  const proof = run(incident.verification.proof);
  return {
    checks: (incident.plan?.checks ?? []).map((c) => c.name),
    ...(baseline ? { baseline } : {}),
    ...(proof ? { proof } : {}),
  };
}

/**
 * The first timeline entry of every transition: the whole input and the facts the decision used,
 * so `vigil replay` can run the same transitions again from the timeline alone.
 */
export function recordInput(step: Step): void {
  const { input, ctx } = step;
  const summary = input.kind === 'event' ? `received ${input.event.type} from ${input.event.source}` : describeInput(input);
  step.timeline.push({
    kind: 'event',
    summary,
    ...(input.kind === 'event' ? { eventId: input.event.id, eventType: input.event.type } : {}),
    data: { input, facts: ctx.facts },
  });
}
