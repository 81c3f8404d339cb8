import { checkShell } from './shell-check.js';
import { checkSql } from './sql-check.js';
import type { PlanStep } from '@vigil/events';

export type SafetyDecision = 'allow' | 'review' | 'deny';

export interface SafetyFinding {
  rule: string;
  message: string;
  /** Character offsets [start, end) in the checked text, where known. */
  span?: [number, number];
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
  'postgres.terminate_idle_sessions',
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

/** Typed actions whose parameters can make them risky but legitimate: a human decides. */
function checkActionParams(step: Extract<PlanStep, { kind: 'action' }>): SafetyVerdict {
  if (step.action === 'k8s.scale' && Number(step.params.replicas) === 0) {
    return { decision: 'review', findings: [{ rule: 'action-scale-zero', message: 'k8s.scale to zero replicas takes the service down' }] };
  }
  return { decision: 'allow', findings: [] };
}

/**
 * The full static safety check: typed actions by catalog (and risky parameters), SQL scripts
 * through PostgreSQL's parser, shell scripts through a bash parser. Other languages cannot be
 * read, so they are denied. Call after `loadParsers()`; before it, every script is denied.
 */
export function createSafetyCheck(catalog: readonly string[] = knownActions): SafetyCheck {
  const byCatalog = createCatalogSafetyCheck(catalog);
  return {
    check(step) {
      if (step.kind === 'action') {
        const known = byCatalog.check(step);
        return known.decision === 'deny' ? known : checkActionParams(step);
      }
      switch (step.language) {
        case 'sql':
          return checkSql(step.code);
        case 'bash':
        case 'sh':
          return checkShell(step.code);
        default:
          return {
            decision: 'deny',
            findings: [{ rule: 'unreadable-language', message: `a ${step.language} script cannot be read by the safety check` }],
          };
      }
    },
  };
}
