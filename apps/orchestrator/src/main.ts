import { runService } from '@vigil/platform';
import { orchestratorService } from './definition.js';

runService(orchestratorService);
