import { runService } from '@vigil/platform';
import { reasonerService } from './definition.js';

runService(reasonerService);
