export { VigilError, isVigilError, toVigilError } from './vigil-error.js';
