import { z } from 'zod';
import type { EdgeCaseFlag, Risk } from '@vigil/events';
import type { SafetyVerdict } from './safety.js';

export type GateDecision = 'AUTO_EXECUTE' | 'REQUIRE_APPROVAL' | 'ESCALATE';

/** How much a (service, alert, action) may do alone, from config; the gate never exceeds it. */
export type AutonomyLevel = 'shadow' | 'suggest' | 'approve' | 'auto';

export const GateThresholds = z.object({
  /** Auto-execute only above this confidence. */
  autoMinConfidence: z.number().min(0).max(1).default(0.9),
  /** …and above this runbook match. */
  autoMinMatch: z.number().min(0).max(1).default(0.85),
  /** Below this confidence a human is not even asked to approve: escalate. */
  escalateBelowConfidence: z.number().min(0).max(1).default(0.5),
  /** Risks allowed to run without a human. */
  autoRisks: z.array(z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])).default(['LOW']),
  /** Automatic executions per service per hour (the blast-radius budget). */
  maxAutoPerHour: z.number().int().min(0).default(3),
  /** The same fix for the same service this many times in an hour is a loop: escalate. */
  loopLimit: z.number().int().min(1).default(3),
});
export type GateThresholds = z.output<typeof GateThresholds>;

export const defaultThresholds: GateThresholds = GateThresholds.parse({});

export interface GateInput {
  confidence: number;
  /** Best runbook match score, 0 when nothing matched. */
  runbookMatch: number;
  risk: Risk;
  flags: readonly EdgeCaseFlag[];
  /** One verdict per plan step. */
  safety: readonly SafetyVerdict[];
  /** Automatic executions of this service in the last hour. */
  autoExecutionsLastHour: number;
  /** Times this same fix ran for this service in the last hour. */
  sameFixLastHour: number;
  hasVerificationChecks: boolean;
  autonomy: AutonomyLevel;
}

export interface GateResult {
  decision: GateDecision;
  /** What the rules alone would have decided, before the autonomy level capped it. */
  uncapped: GateDecision;
  reasons: string[];
  /** CRITICAL plans need two distinct approvers. */
  requiredApprovals: number;
}

const pct = (n: number): string => n.toFixed(2);

/**
 * The confidence gate (DESIGN.md §5). Pure: the same inputs always give the same decision and
 * the same reasons, so `vigil replay` can test a changed policy against history.
 */
export function decideGate(input: GateInput, thresholds: GateThresholds = defaultThresholds): GateResult {
  const escalate: string[] = [];
  const approve: string[] = [];

  const denied = input.safety.flatMap((v, i) => (v.decision === 'deny' ? v.findings.map((f) => `step ${i + 1}: ${f.message}`) : []));
  if (denied.length > 0) escalate.push(`the safety check denies: ${denied.join('; ')}`);
  if (!input.hasVerificationChecks) escalate.push('the plan has no verification checks, so a fix could not be proven');
  if (input.sameFixLastHour >= thresholds.loopLimit) {
    escalate.push(`the same fix already ran ${input.sameFixLastHour} times for this service in the last hour`);
  }
  if (input.confidence < thresholds.escalateBelowConfidence) {
    escalate.push(`confidence ${pct(input.confidence)} is below ${pct(thresholds.escalateBelowConfidence)}`);
  }

  if (input.confidence <= thresholds.autoMinConfidence) {
    approve.push(`confidence ${pct(input.confidence)} is not above ${pct(thresholds.autoMinConfidence)}`);
  }
  if (input.runbookMatch <= thresholds.autoMinMatch) {
    approve.push(
      input.runbookMatch < 0.5
        ? `runbook match ${pct(input.runbookMatch)} is below 0.50: no runbook backs this plan`
        : `runbook match ${pct(input.runbookMatch)} is not above ${pct(thresholds.autoMinMatch)}`,
    );
  }
  if (!thresholds.autoRisks.includes(input.risk)) approve.push(`risk ${input.risk} needs a human`);
  if (input.flags.length > 0) approve.push(`edge cases: ${input.flags.join(', ')}`);
  const reviewed = input.safety.flatMap((v, i) => (v.decision === 'review' ? v.findings.map((f) => `step ${i + 1}: ${f.message}`) : []));
  if (reviewed.length > 0) approve.push(`the safety check asks for review: ${reviewed.join('; ')}`);
  if (input.autoExecutionsLastHour >= thresholds.maxAutoPerHour) {
    approve.push(`the blast-radius budget is spent: ${input.autoExecutionsLastHour} automatic executions in the last hour`);
  }

  const uncapped: GateDecision = escalate.length > 0 ? 'ESCALATE' : approve.length > 0 ? 'REQUIRE_APPROVAL' : 'AUTO_EXECUTE';
  const reasons = escalate.length > 0 ? escalate : approve.length > 0 ? approve : ['every auto-execution criterion is met'];
  const requiredApprovals = input.risk === 'CRITICAL' ? 2 : 1;

  let decision = uncapped;
  switch (input.autonomy) {
    case 'shadow':
      decision = 'ESCALATE';
      reasons.push(`shadow mode: would have decided ${uncapped}`);
      break;
    case 'suggest':
      if (uncapped !== 'ESCALATE') {
        decision = 'ESCALATE';
        reasons.push('suggest mode: the plan goes to a human, not to the executor');
      }
      break;
    case 'approve':
      if (uncapped === 'AUTO_EXECUTE') {
        decision = 'REQUIRE_APPROVAL';
        reasons.push('approve mode: a human approves every fix for this service');
      }
      break;
    case 'auto':
      break;
  }
  return { decision, uncapped, reasons, requiredApprovals };
}
