import { defineProject, type ViteUserConfig } from 'vitest/config';
import { vigilProject } from '../vitest.shared.js';

const shared = vigilProject('bench');

// bench/ sits one level below the root, not two like apps and libs: its report goes to the same place.
const config: ViteUserConfig = { ...shared, test: { ...shared.test, outputFile: { json: '../tmp/test-results/bench.json' } } };

export default defineProject(config);
