import { describe, expect, it } from 'vitest';
import { decideGate, GateThresholds, type GateInput } from './gate.js';
import type { SafetyVerdict } from './safety.js';

const allow: SafetyVerdict = { decision: 'allow', findings: [] };
const base: GateInput = {
  confidence: 0.95,
  runbookMatch: 0.9,
  risk: 'LOW',
  flags: [],
  safety: [allow],
  autoExecutionsLastHour: 0,
  sameFixLastHour: 0,
  hasVerificationChecks: true,
  autonomy: 'auto',
};
const decide = (patch: Partial<GateInput>) => decideGate({ ...base, ...patch });

describe('the confidence gate (DESIGN.md §5 defaults)', () => {
  it('auto-executes only when every criterion holds', () => {
    expect(decide({})).toMatchObject({
      decision: 'AUTO_EXECUTE',
      reasons: ['every auto-execution criterion is met'],
      requiredApprovals: 1,
    });
  });

  it.each([
    ['confidence exactly 0.90 (must be above)', { confidence: 0.9 }, 'confidence 0.90 is not above 0.90'],
    ['runbook match exactly 0.85', { runbookMatch: 0.85 }, 'runbook match 0.85 is not above 0.85'],
    ['confident but no runbook (match < 0.50)', { runbookMatch: 0.3 }, 'no runbook backs this plan'],
    ['MEDIUM risk', { risk: 'MEDIUM' as const }, 'risk MEDIUM needs a human'],
    ['an edge-case flag', { flags: ['multiple_services' as const] }, 'edge cases: multiple_services'],
    [
      'a step the safety check wants reviewed',
      { safety: [{ decision: 'review' as const, findings: [{ rule: 'r', message: 'scales to zero' }] }] },
      'step 1: scales to zero',
    ],
    ['the blast-radius budget spent', { autoExecutionsLastHour: 3 }, 'blast-radius budget is spent'],
  ])('asks a human: %s', (_name, patch, reason) => {
    const result = decide(patch);
    expect(result.decision).toBe('REQUIRE_APPROVAL');
    expect(result.reasons.join(' | ')).toContain(reason);
  });

  it.each([
    [
      'a denied step, whatever else holds',
      { safety: [allow, { decision: 'deny' as const, findings: [{ rule: 'drop', message: 'DROP TABLE' }] }] },
      'step 2: DROP TABLE',
    ],
    ['low confidence', { confidence: 0.41 }, 'confidence 0.41 is below 0.50'],
    ['no way to verify', { hasVerificationChecks: false }, 'no verification checks'],
    ['the same fix looping', { sameFixLastHour: 3 }, 'already ran 3 times'],
  ])('escalates: %s', (_name, patch, reason) => {
    const result = decide(patch);
    expect(result.decision).toBe('ESCALATE');
    expect(result.reasons.join(' | ')).toContain(reason);
  });

  it('lists every reason that applies, escalation reasons first and alone', () => {
    const result = decide({ confidence: 0.4, runbookMatch: 0.2, risk: 'HIGH' });
    expect(result.decision).toBe('ESCALATE');
    expect(result.reasons).toEqual(['confidence 0.40 is below 0.50']);
    const approval = decide({ runbookMatch: 0.6, risk: 'HIGH' });
    expect(approval.reasons).toHaveLength(2);
  });

  it('CRITICAL plans need two approvers', () => {
    expect(decide({ risk: 'CRITICAL' })).toMatchObject({ decision: 'REQUIRE_APPROVAL', requiredApprovals: 2 });
  });

  it('never grants more than the autonomy level allows', () => {
    expect(decide({ autonomy: 'approve' })).toMatchObject({ decision: 'REQUIRE_APPROVAL', uncapped: 'AUTO_EXECUTE' });
    expect(decide({ autonomy: 'suggest' })).toMatchObject({ decision: 'ESCALATE', uncapped: 'AUTO_EXECUTE' });
    const shadow = decide({ autonomy: 'shadow' });
    expect(shadow).toMatchObject({ decision: 'ESCALATE', uncapped: 'AUTO_EXECUTE' });
    expect(shadow.reasons.at(-1)).toBe('shadow mode: would have decided AUTO_EXECUTE');
    // A level never raises a decision.
    expect(decide({ autonomy: 'auto', confidence: 0.4 }).decision).toBe('ESCALATE');
    expect(decide({ autonomy: 'approve', confidence: 0.4 }).decision).toBe('ESCALATE');
  });

  it('uses configured thresholds', () => {
    const lenient = GateThresholds.parse({ autoMinConfidence: 0.8, autoMinMatch: 0.7, autoRisks: ['LOW', 'MEDIUM'], maxAutoPerHour: 10 });
    expect(decideGate({ ...base, confidence: 0.85, runbookMatch: 0.75, risk: 'MEDIUM', autoExecutionsLastHour: 5 }, lenient).decision).toBe(
      'AUTO_EXECUTE',
    );
    expect(() => GateThresholds.parse({ autoMinConfidence: 2 })).toThrow();
  });

  it('is deterministic', () => {
    const input = { ...base, runbookMatch: 0.6 };
    expect(decideGate(input)).toEqual(decideGate(input));
  });
});
