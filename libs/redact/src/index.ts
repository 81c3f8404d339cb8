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
export { createLocalRedactor, type Redactor } from './port.js';
export { createSkyflowRedactor, type SkyflowRedactorOptions } from './skyflow/skyflow.redactor.js';
export { defaultSkyflowEntityTypes } from './skyflow/map.js';
