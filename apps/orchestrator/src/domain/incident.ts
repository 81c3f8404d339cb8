import type {
  AlertSource,
  ContextMatch,
  EdgeCaseFlag,
  EscalationReason,
  Hypothesis,
  Plan,
  PlanStep,
  Severity,
  VerificationCompleted,
} from '@vigil/events';
import type { AutonomyLevel, GateDecision } from '@vigil/policy';

/** The lifecycle of DESIGN.md §2. RESOLVED and ESCALATED are final. */
export const stages = [
  'TRIGGERED',
  'INVESTIGATING',
  'HYPOTHESIS_RECEIVED',
  'CONTEXT_RETRIEVED',
  'SYNTHESIZING',
  'AWAITING_APPROVAL',
  'EXECUTING',
  'VERIFYING',
  'RESOLVED',
  'ESCALATED',
] as const;
export type Stage = (typeof stages)[number];

export const isClosed = (stage: Stage): boolean => stage === 'RESOLVED' || stage === 'ESCALATED';

/** Inside EXECUTING: proving the failure is real, running steps, or undoing them. */
export type ExecutionPhase = 'baseline' | 'running' | 'compensating';

export interface StepRecord {
  index: number;
  stepId: string;
  executionId: string;
  status: 'requested' | 'succeeded' | 'failed' | 'refused' | 'unknown';
  summary?: string;
  compensation?: PlanStep;
}

export interface CompensationRecord {
  index: number;
  executionId: string;
  step: PlanStep;
  status: 'pending' | 'requested' | 'succeeded' | 'failed' | 'refused' | 'unknown';
}

export interface Incident {
  id: string;
  /** Optimistic concurrency: bumped by every committed transition. */
  version: number;
  stage: Stage;
  phase: ExecutionPhase | null;
  service: string;
  title: string;
  dedupKey: string;
  source: AlertSource;
  severity: Severity;
  alertName?: string;
  labels: Record<string, string>;
  externalIncidentId?: string;
  externalUrl?: string;
  occurrences: number;
  triggeredAt: string;
  lastSeenAt: string;
  stageEnteredAt: string;
  /** The same alert reported through other channels (another source, its own dedup key), attached here. */
  correlated?: Array<{ source: AlertSource; dedupKey: string; at: string }>;
  /** The resolved incident this one re-fired within the stability window. */
  refiredFrom?: string;
  hypothesis?: Hypothesis;
  context?: ContextMatch[];
  plan?: Plan;
  planHash?: string;
  flags: EdgeCaseFlag[];
  gate?: { decision: GateDecision; uncapped: GateDecision; reasons: string[]; requiredApprovals: number; autonomy: AutonomyLevel };
  approval?: { decision: 'approved' | 'denied' | 'expired'; by: string[]; via: string; reason?: string };
  steps: StepRecord[];
  compensations: CompensationRecord[];
  /** Why the incident escalates once compensation has finished. */
  pendingEscalation?: { reason: EscalationReason; message: string };
  verification: { baseline?: VerificationCompleted; proof?: VerificationCompleted };
  outcome?: { kind: 'resolved' | 'escalated'; reason: string; message: string; at: string };
}
