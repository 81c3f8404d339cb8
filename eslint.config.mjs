import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';

const tests = ['**/*.test.ts', '**/*.contract.ts', '**/*.fixtures.ts', '**/test/**'];

/** Modules that do I/O. Domain code (decide, score, plan, parse) imports none of them. */
const ioModules = [
  'node:fs',
  'node:fs/*',
  'fs',
  'fs/*',
  'node:net',
  'net',
  'node:http',
  'http',
  'node:https',
  'https',
  'node:child_process',
  'child_process',
  'node:dgram',
  'node:tls',
  'node:worker_threads',
  'pg',
  'ioredis',
  '@nats-io/*',
  '@electric-sql/*',
  'fastify',
  'undici',
  'puppeteer-core',
  '@vigil/bus',
  '@vigil/db',
  '@vigil/cache',
  '@vigil/platform',
];

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', 'tmp/**', '.nx/**', 'bench/results/**', '**/vitest.config.ts'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      // Apps never import apps; libraries never import apps.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            // Benchmarks measure the apps themselves (and the whole engine), through their public entry points.
            { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib', 'type:app', 'type:engine'] },
            // deploy/ checks the deployment files against the apps' own configuration and contracts.
            { sourceTag: 'type:deploy', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
            // The single-process engine composes the services: the one app that imports apps.
            { sourceTag: 'type:engine', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    // libs/bus is the only importer of the NATS client.
    files: ['**/*.ts'],
    // bench/ measures the raw client beside the bus, so it imports both.
    ignores: ['libs/bus/**', 'bench/**', ...tests],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nats-io/*'], message: 'Only libs/bus talks to NATS; use the Bus port.' }] },
      ],
    },
  },
  {
    // domain/ is pure: no I/O, no vendor clients, no infrastructure ports.
    files: ['**/src/domain/**/*.ts'],
    ignores: tests,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ioModules, message: 'domain/ code is pure: do the I/O in a handler and pass the data in.' }] },
      ],
    },
  },
  {
    // Services log through pino; only the CLI writes to the terminal (through process.stdout).
    files: ['libs/**/src/**/*.ts', 'apps/**/src/**/*.ts'],
    ignores: tests,
    rules: { 'no-console': 'error' },
  },
  {
    files: tests,
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  prettier,
];
