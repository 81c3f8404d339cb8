import {
  VerificationCheck,
  type ContextMatch,
  type EdgeCaseFlag,
  type Hypothesis,
  type Plan,
  type PlanStep,
  type RemediationProposed,
} from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import { bindParams } from './bind.js';

export interface PlanningInput {
  service: string;
  hypothesis: Hypothesis;
  context: readonly ContextMatch[];
}

/** Actions that change or remove data rather than processes: the gate wants a human for them. */
const dataActions = new Set(['redis.unlink_keys', 'redis.config_set']);

/**
 * The edge cases the gate escalates on (or asks a human about), from the hypothesis, the
 * context and the plan: ambiguity, conflict, weak runbook backing, several services, a fix that
 * did not hold before, data changes, and a stated risk the safety check contradicts.
 */
export function edgeCases(
  input: PlanningInput,
  chosen: ContextMatch | undefined,
  plan: Plan | undefined,
  safety: SafetyCheck,
): EdgeCaseFlag[] {
  const flags = new Set<EdgeCaseFlag>();
  const hypothesisFlags = new Set(input.hypothesis.flags);
  if (hypothesisFlags.has('ambiguous') || hypothesisFlags.has('low_confidence') || hypothesisFlags.has('no_evidence'))
    flags.add('ambiguous_hypothesis');
  if (hypothesisFlags.has('conflicting_sources')) flags.add('conflicting_sources');
  if (hypothesisFlags.has('multiple_services') || input.hypothesis.affectedServices.length > 1) flags.add('multiple_services');
  if (!chosen || chosen.score < 0.5) flags.add('low_runbook_match');
  if (chosen?.standing === 'ineffective') flags.add('previously_ineffective');
  if (plan) {
    if (plan.steps.some((s) => (s.kind === 'action' && dataActions.has(s.action)) || (s.kind === 'script' && s.language === 'sql')))
      flags.add('touches_data');
    const verdicts = plan.steps.map((s) => safety.check(s));
    if (verdicts.some((v) => v.decision === 'deny')) flags.add('policy_denied');
    if (plan.risk === 'LOW' && verdicts.some((v) => v.decision !== 'allow')) flags.add('risk_contradiction');
  }
  return [...flags];
}

/**
 * The planner used when no model is configured: takes the best-matching runbook that prescribes
 * a remedy (never one marked ineffective), binds its typed actions to the hypothesis evidence,
 * and states a confidence no higher than either the hypothesis or the match behind it.
 */
export function planFromRunbooks(input: PlanningInput, safety: SafetyCheck): RemediationProposed {
  const candidates = input.context
    .filter((m) => m.citation.kind === 'runbook' && m.remedy !== undefined && m.standing !== 'ineffective')
    .sort((a, b) => b.score - a.score);
  const chosen = candidates[0];
  if (!chosen?.remedy) {
    const tried = input.context.some((m) => m.standing === 'ineffective') ? ' (the only fix found did not hold before)' : '';
    return { outcome: 'no_plan', reason: `no runbook with a remedy matches this hypothesis${tried}` };
  }
  const steps: PlanStep[] = [];
  for (const [i, step] of chosen.remedy.steps.entries()) {
    const bound = bindParams(step.params, { service: input.service, hypothesis: input.hypothesis });
    if (!bound.ok) {
      return {
        outcome: 'no_plan',
        reason: `runbook ${chosen.citation.documentId} step ${i + 1} (${step.action}) needs ${bound.missing.join(', ')}, which the hypothesis does not state`,
      };
    }
    steps.push({ kind: 'action', id: `step-${i + 1}`, action: step.action, params: bound.value, reasoning: step.reasoning });
  }
  // A runbook's checks may be templates too (`olderThanS: '{{evidence.idle_threshold_s}}'`): the
  // proof checks for what the steps act on.
  const checks: VerificationCheck[] = [];
  for (const check of chosen.remedy.checks) {
    const bound = bindParams(check, { service: input.service, hypothesis: input.hypothesis });
    const parsed = bound.ok ? VerificationCheck.safeParse(bound.value) : undefined;
    if (!parsed?.success) {
      const why = bound.ok
        ? (parsed?.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '')
        : `needs ${bound.missing.join(', ')}, which the hypothesis does not state`;
      return { outcome: 'no_plan', reason: `runbook ${chosen.citation.documentId} check "${check.name}" ${why}` };
    }
    checks.push(parsed.data);
  }
  const plan: Plan = {
    steps,
    confidence: Math.min(input.hypothesis.confidence, chosen.score),
    risk: chosen.remedy.risk,
    reasoning: `Runbook "${chosen.citation.title}" (match ${chosen.score.toFixed(2)}) prescribes this for: ${input.hypothesis.rootCause}`,
    rollback: 'Each step carries its own compensation where the action has one.',
    checks,
    citations: [chosen.citation],
    producedBy: 'runbook-planner',
  };
  return { outcome: 'plan', plan, flags: edgeCases(input, chosen, plan, safety) };
}
