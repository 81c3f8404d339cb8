/** The reasoner's programmatic surface: for the single-process engine and the benchmarks. */
export { reasonerService } from './definition.js';
