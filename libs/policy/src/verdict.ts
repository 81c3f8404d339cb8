import type { Risk } from '@vigil/events';
import type { SafetyDecision, SafetyFinding, SafetyVerdict } from './safety.js';

/** Collects findings; the verdict is the strictest of them (deny > review > allow). */
export class Findings {
  readonly list: Array<SafetyFinding & { decision: SafetyDecision }> = [];

  add(decision: SafetyDecision, rule: string, message: string, span?: [number, number]): void {
    this.list.push({ decision, rule, message, ...(span ? { span } : {}) });
  }

  deny(rule: string, message: string, span?: [number, number]): void {
    this.add('deny', rule, message, span);
  }

  review(rule: string, message: string, span?: [number, number]): void {
    this.add('review', rule, message, span);
  }

  verdict(): SafetyVerdict {
    const decision: SafetyDecision = this.list.some((f) => f.decision === 'deny')
      ? 'deny'
      : this.list.some((f) => f.decision === 'review')
        ? 'review'
        : 'allow';
    // Only the findings that carry the decision: a deny is not diluted by lesser notes.
    const findings = this.list.filter((f) => f.decision === decision).map(({ decision: _d, ...f }) => f);
    return { decision, findings };
  }
}

export function riskOf(verdict: SafetyVerdict): Risk {
  return verdict.decision === 'deny' ? 'CRITICAL' : verdict.decision === 'review' ? 'HIGH' : 'LOW';
}

export function combine(verdicts: readonly SafetyVerdict[]): SafetyVerdict {
  const all = new Findings();
  for (const v of verdicts) for (const f of v.findings) all.add(v.decision, f.rule, f.message, f.span);
  if (all.list.length === 0) return { decision: 'allow', findings: [] };
  return all.verdict();
}
