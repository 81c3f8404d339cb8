export {
  decideGate,
  defaultThresholds,
  GateThresholds,
  type AutonomyLevel,
  type GateDecision,
  type GateInput,
  type GateResult,
} from './gate.js';
export { loadParsers } from './parsers.js';
export { checkSql } from './sql-check.js';
export { checkShell } from './shell-check.js';
export { combine, riskOf } from './verdict.js';
export {
  createSafetyCheck,
  createCatalogSafetyCheck,
  knownActions,
  type SafetyCheck,
  type SafetyDecision,
  type SafetyFinding,
  type SafetyVerdict,
} from './safety.js';
