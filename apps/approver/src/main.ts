import { runService } from '@vigil/platform';
import { approverService } from './definition.js';

runService(approverService);
