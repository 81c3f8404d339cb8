import type { AutonomyLevel, GateThresholds } from '@vigil/policy';
import type { Stage } from './incident.js';

export type DeadlineStage = Extract<
  Stage,
  'INVESTIGATING' | 'HYPOTHESIS_RECEIVED' | 'SYNTHESIZING' | 'AWAITING_APPROVAL' | 'EXECUTING' | 'VERIFYING'
>;

/** Everything the transition needs to know from configuration. */
export interface SagaConfig {
  /** How long each waiting stage may last before the deadline escalates it, in ms. */
  deadlinesMs: Record<DeadlineStage, number>;
  /** How long the investigator waits for a Cleric note before its probes answer alone. */
  clericWaitMs: number;
  /** How long a human has to approve. */
  approvalTtlMs: number;
  /** A trigger for an incident resolved this recently re-opens the question (a re-fire). */
  stabilityWindowMs: number;
  contextLimit: number;
  proof: { consecutivePasses: number; roundIntervalMs: number; deadlineMs: number; concurrency: number };
  thresholdsFor(service: string): GateThresholds;
  /** The autonomy level of (service, alert, action). */
  autonomyFor(service: string, alertName: string | undefined, action: string): AutonomyLevel;
}

/** Facts from outside the incident that a decision needs (read by the handler, passed in). */
export interface SagaFacts {
  autoExecutionsLastHour: number;
  sameFixLastHour: number;
  /** For a trigger with no open incident: the incident with this dedup key resolved inside the stability window. */
  refiredFrom?: string;
}

export const noFacts: SagaFacts = { autoExecutionsLastHour: 0, sameFixLastHour: 0 };
