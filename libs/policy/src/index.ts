export {
  decideGate,
  defaultThresholds,
  GateThresholds,
  type AutonomyLevel,
  type GateDecision,
  type GateInput,
  type GateResult,
} from './gate.js';
export {
  createCatalogSafetyCheck,
  knownActions,
  type SafetyCheck,
  type SafetyDecision,
  type SafetyFinding,
  type SafetyVerdict,
} from './safety.js';
