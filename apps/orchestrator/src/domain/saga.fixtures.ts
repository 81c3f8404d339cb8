import { createEvent, eventTypes, exampleData, type EventDataInput, type EventType, type Plan, type VigilEvent } from '@vigil/events';
import { createCatalogSafetyCheck, GateThresholds } from '@vigil/policy';
import type { Incident } from './incident.js';
import type { SagaInput } from './inputs.js';
import { planHash } from './plan-hash.js';
import type { SagaConfig, SagaFacts } from './saga-config.js';
import { transition } from './saga.js';
import type { TransitionContext, TransitionResult } from './transition.js';

/** Builders for saga tests: a fixed clock, a fixed config, and inputs built from the contract's examples. */
export const t0 = new Date('2026-11-22T10:00:00.000Z');

export const config: SagaConfig = {
  deadlinesMs: {
    INVESTIGATING: 60_000,
    HYPOTHESIS_RECEIVED: 30_000,
    SYNTHESIZING: 120_000,
    AWAITING_APPROVAL: 30_000,
    EXECUTING: 300_000,
    VERIFYING: 300_000,
  },
  clericWaitMs: 20_000,
  approvalTtlMs: 900_000,
  stabilityWindowMs: 24 * 3600_000,
  contextLimit: 5,
  proof: { consecutivePasses: 3, roundIntervalMs: 1000, deadlineMs: 60_000, concurrency: 4 },
  thresholdsFor: () => GateThresholds.parse({}),
  autonomyFor: () => 'auto',
};

export function context(overrides: Partial<TransitionContext> = {}, at = t0): TransitionContext {
  let n = 0;
  return {
    now: at,
    config,
    facts: { autoExecutionsLastHour: 0, sameFixLastHour: 0 },
    safety: createCatalogSafetyCheck(),
    newIncidentId: () => `inc-${++n}`,
    ...overrides,
  };
}

export function event<T extends EventType>(type: T, data: Partial<EventDataInput<T>> = {}, incidentId: string | null = 'inc-1'): SagaInput {
  return {
    kind: 'event',
    event: createEvent(type, { ...(exampleData[type] as object), ...data } as EventDataInput<T>, {
      source: 'test',
      incidentId:
        incidentId ?? (['incident.triggered', 'incident.annotated', 'incident.resolved.external'].includes(type) ? null : 'inc-1'),
    }) as VigilEvent,
  };
}

export const autoPlan: Plan = {
  ...(exampleData['remediation.proposed'] as { plan: Plan }).plan,
  confidence: 0.95,
  citations: [{ documentId: 'pg-lock-contention', kind: 'runbook', title: 'API latency from a Postgres lock' }],
};

export const twoStepPlan: Plan = {
  ...autoPlan,
  steps: [
    { kind: 'action', id: 'step-1', action: 'redis.config_set', params: { key: 'maxmemory-policy', value: 'allkeys-lru' }, reasoning: '' },
    { kind: 'action', id: 'step-2', action: 'postgres.terminate_backend', params: { pid: 4242 }, reasoning: '' },
  ],
};

export const contextMatches = [
  {
    citation: { documentId: 'pg-lock-contention', kind: 'runbook' as const, title: 'API latency from a Postgres lock' },
    score: 0.92,
    passage: 'Terminate the blocker.',
    standing: 'runbook' as const,
  },
];

/** Applies inputs in order, as the store would, and returns every result. */
export function drive(
  inputs: SagaInput[],
  ctx: TransitionContext = context(),
  start: Incident | null = null,
): { incident: Incident; results: TransitionResult[] } {
  let incident = start;
  const results: TransitionResult[] = [];
  for (const input of inputs) {
    const result = transition(incident, input, ctx);
    results.push(result);
    if (result.incident) incident = { ...result.incident, version: result.incident.version + 1 };
  }
  if (!incident) throw new Error('no incident');
  return { incident, results };
}

export const commandsOf = (r: TransitionResult): string[] => r.commands.map((c) => c.type);

/** The id the saga gives the execution of step `index`. */
export const executionId = (index: number, mode: 'run' | 'compensate' = 'run', incidentId = 'inc-1') => `${incidentId}:${index}:${mode}`;

export const toSynthesizing: SagaInput[] = [
  event('incident.triggered', {}, null),
  event('hypothesis.received'),
  event('context.retrieved', { matches: contextMatches }),
];

export const proposal = (plan: Plan, flags: string[] = []) => event('remediation.proposed', { outcome: 'plan', plan, flags } as never);
export const approvalFor = (plan: Plan, decision: 'approved' | 'denied' | 'expired' = 'approved') =>
  event('approval.decided', { planHash: planHash(plan), decision });
export const verified = (mode: 'baseline' | 'proof', passed: boolean) =>
  event('verification.completed', { mode, passed, passRatio: passed ? 1 : 0, rounds: 3 });
export const executed = (
  index: number,
  status: 'succeeded' | 'failed' | 'refused' | 'unknown',
  extra: Record<string, unknown> = {},
  mode: 'run' | 'compensate' = 'run',
) =>
  event('execution.completed', {
    executionId: executionId(index, mode),
    stepId: `step-${index + 1}`,
    status,
    summary: status,
    mode,
    ...extra,
  } as never);

export const noFactsWith = (facts: Partial<SagaFacts>) => ({ autoExecutionsLastHour: 0, sameFixLastHour: 0, ...facts });
export { eventTypes };
