/** The ingest's programmatic surface: for the single-process engine and the benchmarks. */
export { ingestService } from './definition.js';
