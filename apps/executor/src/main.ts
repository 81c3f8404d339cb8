import { runService } from '@vigil/platform';
import { executorService } from './definition.js';

runService(executorService);
