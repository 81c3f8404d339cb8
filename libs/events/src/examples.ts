import type { EventDataInput, EventType } from './catalog.js';
import type { Hypothesis, Plan } from './schemas/common.js';

/**
 * One valid example of every event's data: the contract shown by example. Used by the docs
 * (`vigil events example TYPE`), by tests and benchmarks as a starting point, and kept honest
 * by a test that parses each one.
 */
const hypothesis = {
  rootCause: 'A transaction holds a row lock on orders; checkout requests wait on it.',
  confidence: 0.93,
  origin: 'probes' as const,
  evidence: [
    {
      source: 'postgres.blocking',
      summary: 'pid 4242 has held a lock for 95s; 37 sessions wait on it',
      facts: { blocker_pid: 4242, waiting: 37, held_for_s: 95 },
      confidence: 0.93,
    },
  ],
  affectedServices: ['payment-api'],
  flags: [],
} satisfies Hypothesis;

const terminateBlocker = {
  kind: 'action' as const,
  id: 'step-1',
  action: 'postgres.terminate_backend',
  params: { pid: 4242 },
  reasoning: 'The blocker is idle in transaction; ending it releases the lock.',
};

const plan = {
  steps: [terminateBlocker],
  confidence: 0.92,
  risk: 'LOW',
  reasoning: 'Runbook pg-lock-contention matches the evidence.',
  rollback: 'None needed: the client retries its transaction.',
  checks: [{ kind: 'http', name: 'health', method: 'GET', url: 'http://127.0.0.1:7480/health', expectStatus: 200 }],
  citations: [{ documentId: 'pg-lock-contention', kind: 'runbook', title: 'API latency from a Postgres lock' }],
  producedBy: 'runbook-planner',
} satisfies Plan;

const planHash = 'a'.repeat(64);
const at = '2026-11-22T10:00:00.000Z';

export const exampleData: { [T in EventType]: EventDataInput<T> } = {
  'incident.triggered': {
    source: 'events_v2',
    dedupKey: 'payment-api/HighLatency',
    title: 'payment-api p95 latency above 2s',
    service: 'payment-api',
    severity: 'critical',
    alertName: 'HighLatency',
    labels: { env: 'prod' },
    firedAt: at,
  },
  'incident.annotated': {
    source: 'pagerduty',
    externalIncidentId: 'PT4KHLK',
    note: {
      id: 'PWL7QXS',
      content: 'Root cause: lock contention on orders (confidence 92%).',
      author: { id: 'PCLERIC', name: 'Cleric', type: 'user_reference' },
      createdAt: at,
    },
  },
  'incident.resolved.external': { source: 'pagerduty', dedupKey: 'payment-api/HighLatency', resolvedAt: at },
  'investigation.requested': {
    service: 'payment-api',
    title: 'payment-api p95 latency above 2s',
    alertName: 'HighLatency',
    clericWaitMs: 30_000,
  },
  'hypothesis.received': { hypothesis },
  'context.requested': { service: 'payment-api', query: hypothesis.rootCause, hypothesis, limit: 5 },
  'context.retrieved': {
    query: hypothesis.rootCause,
    matches: [
      {
        citation: {
          documentId: 'pg-lock-contention',
          kind: 'runbook',
          title: 'API latency from a Postgres lock',
          section: 'Fix',
          lines: [12, 30],
        },
        score: 0.91,
        passage: 'Terminate the blocking backend when it is idle in transaction.',
      },
    ],
  },
  'remediation.requested': { service: 'payment-api', title: 'payment-api p95 latency above 2s', hypothesis, context: [] },
  'remediation.proposed': { outcome: 'plan', plan, flags: [] },
  'approval.requested': {
    service: 'payment-api',
    planHash,
    plan,
    risk: 'LOW',
    confidence: 0.92,
    reasons: ['runbook match 0.62 is below 0.85'],
    expiresAt: '2026-11-22T10:15:00.000Z',
  },
  'approval.decided': {
    planHash,
    decision: 'approved',
    decidedBy: [{ id: 'U024BE7LH', name: 'ana' }],
    via: 'slack',
    decidedAt: at,
  },
  'execution.requested': {
    executionId: 'exec-1',
    service: 'payment-api',
    planHash,
    stepIndex: 0,
    step: terminateBlocker,
    evidenceFacts: { blocker_pid: 4242 },
  },
  'execution.completed': {
    executionId: 'exec-1',
    stepId: 'step-1',
    status: 'succeeded',
    summary: 'pg_terminate_backend(4242) returned true',
    durationMs: 12,
  },
  'verification.requested': { service: 'payment-api', mode: 'proof', checks: plan.checks },
  'verification.completed': { mode: 'proof', passed: true, passRatio: 1, rounds: 3, latencyMs: { p50: 12, p95: 30 } },
  'incident.resolved': {
    service: 'payment-api',
    dedupKey: 'payment-api/HighLatency',
    how: 'remediated',
    plan,
    resolvedAt: at,
    mttrMs: 41_000,
    title: 'payment-api p95 latency above 2s',
    alertName: 'HighLatency',
    hypothesis,
    verification: {
      checks: ['health'],
      baseline: { passed: false, passRatio: 0, rounds: 1 },
      proof: { passed: true, passRatio: 1, rounds: 3 },
    },
  },
  'incident.escalated': {
    service: 'payment-api',
    stage: 'SYNTHESIZING',
    reason: 'low_confidence',
    message: 'confidence 0.41 is below the approval threshold',
  },
};
