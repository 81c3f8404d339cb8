import type { PlanStep } from '@vigil/events';

export type SafetyDecision = 'allow' | 'review' | 'deny';

export interface SafetyFinding {
  rule: string;
  message: string;
}

export interface SafetyVerdict {
  decision: SafetyDecision;
  findings: SafetyFinding[];
}

/**
 * The static safety check every step passes before the gate and again before it runs. The real
 * checker reads SQL and shell with real parsers (the reasoning issue); until a step can be read,
 * the answer is no.
 */
export interface SafetyCheck {
  check(step: PlanStep): SafetyVerdict;
}

/** The typed actions the executor implements (its catalog), by name. */
export const knownActions = [
  'postgres.cancel_backend',
  'postgres.terminate_backend',
  'postgres.terminate_idle_in_transaction',
  'redis.unlink_keys',
  'redis.config_set',
  'http.request',
  'process.restart',
  'k8s.rollout_restart',
  'k8s.scale',
] as const;

/**
 * The conservative checker: a typed action from the catalog is allowed (its own parameter schema
 * and preconditions guard it in the executor); an unknown action, or any free-form script, is
 * denied, because nothing here can read it yet. A safety check that cannot decide says no.
 */
export function createCatalogSafetyCheck(catalog: readonly string[] = knownActions): SafetyCheck {
  const known = new Set(catalog);
  return {
    check(step) {
      if (step.kind === 'script') {
        return {
          decision: 'deny',
          findings: [{ rule: 'unparsed-script', message: `a ${step.language} script cannot be checked yet, so it may not run` }],
        };
      }
      if (!known.has(step.action)) {
        return { decision: 'deny', findings: [{ rule: 'unknown-action', message: `${step.action} is not in the action catalog` }] };
      }
      return { decision: 'allow', findings: [] };
    },
  };
}
