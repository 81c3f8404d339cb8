/** memory's programmatic surface: for the single-process engine and the benchmarks. */
export { buildMemory, ingestDirectory, migrationsDir, starterRunbooksDir } from './service.js';
export { searchRunbooks, ingestRunbook, type SearchRequest } from './runbook-store.js';
export { parseRunbook, type Runbook } from './domain/runbook.js';
export { searchKnowledge } from './search.js';
export { searchIncidents, promoteDue } from './incident-store.js';
export type { LearnedIncident, LearnedStanding } from './domain/learning.js';
export { memoryService } from './definition.js';
