/** The investigator's programmatic surface: for the single-process engine and the benchmarks. */
export { investigatorService } from './definition.js';
