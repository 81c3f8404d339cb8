/** The verifier's programmatic surface: for the single-process engine and the benchmarks. */
export { buildVerifier, type Verifier, type VerifierWiring } from './service.js';
export { createSwarm, type Swarm, type SwarmOptions } from './swarm.js';
export { BrowserPool, chromiumArgs, type BrowserSource } from './checks/browser-pool.js';
export { verifierConfig } from './config.js';
export type { Attempt, RoundSummary } from './domain/verdict.js';
export { verifierService } from './definition.js';
