import { defaultServerConditions } from 'vite';
import type { ViteUserConfig } from 'vitest/config';

/**
 * Shared vitest settings for every package. Packages resolve each other's TypeScript sources
 * through the `@vigil/source` export condition, so tests never need a build first.
 * Each run also writes a JSON report that scripts/test.mjs sums into one closing line.
 */
export function vigilProject(name: string): ViteUserConfig {
  return {
    ssr: { resolve: { conditions: ['@vigil/source', ...defaultServerConditions] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      // A safety net, not an assertion: integration tests start real processes (tsx compiles
      // each), and a loaded CI machine runs two suites at once.
      testTimeout: 90_000,
      hookTimeout: 90_000,
      reporters: ['default', 'json'],
      outputFile: { json: `../../tmp/test-results/${name}.json` },
    },
  };
}
