/**
 * An executor process that starts one Coder run and is killed (SIGKILL) by the test while the
 * script runs: no finally block, no delete. Configuration comes in through the environment.
 */
import { createCoderRunner } from '../../src/coder/index.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const runner = createCoderRunner({
  url: env('CODER_URL'),
  sessionToken: env('CODER_SESSION_TOKEN'),
  templateId: env('CODER_TEMPLATE_ID'),
  sshUser: env('CODER_SSH_USER'),
  namePrefix: env('CODER_NAME_PREFIX'),
  pollIntervalMs: 20,
  readyTimeoutMs: 20_000,
});

process.stdout.write('child: running\n');
// Prints until the connection goes away: when this process dies, the next write ends the script.
await runner.run({
  executionId: env('EXECUTION_ID'),
  incidentId: 'inc-crash',
  service: 'checkout',
  language: 'bash',
  code: 'echo started; while true; do echo tick; sleep 0.2; done',
  egress: [],
  env: {},
  limits: { timeoutMs: 60_000, memoryBytes: 0, cpuSeconds: 0, outputBytes: 65_536 },
});
process.stdout.write('child: finished (the test should have killed it)\n');
