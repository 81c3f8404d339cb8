import { runService } from '@vigil/platform';
import { verifierService } from './definition.js';

runService(verifierService);
