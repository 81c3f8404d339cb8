export { createCoderRunner, type CoderRunner, type CoderRunnerOptions, type SweepReport } from './coder-runner.js';
export { coderParameterNames, coderMetadataKeys, type CoderParameterName } from './coder-contract.js';
