/** The orchestrator's programmatic surface: for the single-process engine and the benchmarks. */
export { buildOrchestrator, sagaConfigFrom, migrationsDir, type Orchestrator } from './service.js';
export { processInput, type SagaDeps, type ProcessOutcome } from './saga-runner.js';
export { orchestratorConfig, type OrchestratorConfig } from './config.js';
export { loadPolicy, policyFrom, PolicyFile, type Policy } from './policy-file.js';
export { startOutboxRelay } from './outbox-relay.js';
export { orchestratorService } from './definition.js';
