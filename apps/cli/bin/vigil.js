#!/usr/bin/env node
// The `vigil` command. In a source checkout it runs the TypeScript sources through tsx with the
// `@vigil/source` condition (so no build is needed); in a packaged image only dist/ exists.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `vigil up` is the whole engine (apps/engine), which composes every service; the rest is the CLI.
const up = process.argv[2] === 'up';
const source = fileURLToPath(new URL(up ? '../../engine/src/main.ts' : '../src/main.ts', import.meta.url));
const args = up ? process.argv.slice(3) : process.argv.slice(2);
if (existsSync(source)) {
  const child = spawn(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', source, ...args], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
} else {
  await import(new URL(up ? '../../engine/dist/main.js' : '../dist/main.js', import.meta.url).href);
}
