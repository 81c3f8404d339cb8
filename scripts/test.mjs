#!/usr/bin/env node
// `npm test`: formatting, then lint, typecheck and every test of every project through Nx,
// then one closing line summing the test reports: "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const results = join(root, 'tmp', 'test-results');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

function step(title, command, args) {
  process.stdout.write(`\n== ${title}\n`);
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  return run.status ?? 1;
}

rmSync(results, { recursive: true, force: true });
// Every step runs even if an earlier one failed, so one run shows every problem.
const format = step('format', 'npx', ['prettier', '--check', '.', '--log-level', 'warn']);
const checks = step('lint, typecheck, test', 'npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', '--output-style=static']);
const status = format || checks;

/** One entry per failed test (or file that failed outside a test): project, file, name, first lines of the error. */
function failuresIn(project, report) {
  const out = [];
  const firstLines = (text) =>
    String(text ?? '')
      .split('\n')
      .slice(0, 6)
      .map((line) => `      ${line}`)
      .join('\n');
  for (const suite of report.testResults ?? []) {
    const file = String(suite.name ?? '').replace(`${root}`, '');
    const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of failedTests)
      out.push(`  ${project}: ${file} > ${test.fullName ?? test.title}\n${firstLines(test.failureMessages?.[0])}`);
    if (failedTests.length === 0 && suite.status === 'failed') out.push(`  ${project}: ${file}\n${firstLines(suite.message)}`);
  }
  return out;
}

const failures = [];
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(results)) {
  for (const file of readdirSync(results).filter((f) => f.endsWith('.json'))) {
    const report = JSON.parse(readFileSync(join(results, file), 'utf8'));
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    failures.push(...failuresIn(file.replace(/\.json$/, ''), report));
  }
}
// The failures again at the very end, so a log that keeps only its tail still names them.
if (failures.length > 0) process.stdout.write(`\nfailed:\n${failures.join('\n')}\n`);
if (format !== 0)
  process.stdout.write('\nformat: prettier found files not formatted (named under "== format" above); `npm run format` fixes them\n');
if (checks !== 0 && failed === 0)
  process.stdout.write('\nlint, typecheck, test: a task failed outside the tests (lint or typecheck; see "Failed tasks" above)\n');
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(status || (failed > 0 ? 1 : 0));
