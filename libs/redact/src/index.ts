export {
  detect,
  entityTypes,
  credentialTypes,
  luhn,
  ibanValid,
  entropy,
  type EntityType,
  type Match,
  type DetectOptions,
} from './detectors.js';
export { redact, PlaceholderVault, type RedactionResult } from './redactor.js';
