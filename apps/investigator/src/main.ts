import { runService } from '@vigil/platform';
import { investigatorService } from './definition.js';

runService(investigatorService);
