/** The executor's programmatic surface: for the single-process engine and the benchmarks. */
export { executorService } from './definition.js';
/** The Coder template contract (terraform/runner): checked against the template by deploy/. */
export { coderParameterNames, coderMetadataKeys } from './coder/coder-contract.js';
