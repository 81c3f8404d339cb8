/** The approver's programmatic surface: for the single-process engine. */
export { approverService } from './definition.js';
