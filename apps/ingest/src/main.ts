import { runService } from '@vigil/platform';
import { ingestService } from './definition.js';

runService(ingestService);
