import { runService } from '@vigil/platform';
import { memoryService } from './definition.js';

runService(memoryService);
