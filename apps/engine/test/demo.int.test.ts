import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { databaseUrl, repoRoot, uniqueName } from '@vigil/testing';

/**
 * The newcomer's command, for real: `npm run demo -- --approve` starts the engine and the
 * payment service, makes a real row lock, pages Vigil, approves through the CLI, and must exit 0
 * with the fault healed — a red test if any service on the path breaks.
 */
function runDemo(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', 'apps/engine/src/demo.ts', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

it('heals a real row lock end to end, through a human approval, and prints the timeline', async () => {
  const { code, output } = await runDemo(['--approve', '--timeout', '240'], {
    VIGIL_DEMO_DATABASE_URL: await databaseUrl(),
    VIGIL_DEMO_DATABASE_NAME: uniqueName('demo')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_'),
  });
  expect(output).toMatch(/HYPOTHESIS_RECEIVED\s+A Postgres session, pid \d+ \(user payment_app/);
  expect(output).toMatch(/AWAITING_APPROVAL/);
  expect(output).toMatch(/approved by operator via cli/);
  expect(output).toMatch(/EXECUTING\s+postgres\.terminate_backend \{"pid":\d+\}/);
  expect(output).toMatch(/RESOLVED\s+remediated; MTTR/);
  expect(output).toMatch(/healed: payment-api \/health 200/);
  expect(output).toContain('timeline:');
  expect(code).toBe(0);
}, 360_000);

it('heals it without a human where the policy grants autonomy: baseline failing, blocker ended, proof passing', async () => {
  const { code, output } = await runDemo(['--timeout', '240'], {
    VIGIL_DEMO_DATABASE_URL: await databaseUrl(),
    VIGIL_DEMO_DATABASE_NAME: uniqueName('demo')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_'),
  });
  expect(output).not.toMatch(/AWAITING_APPROVAL/);
  expect(output).toMatch(/baseline: failing/);
  expect(output).toMatch(/succeeded: terminated pid \d+ \(user payment_app, idle in transaction/);
  expect(output).toMatch(/proof: passing/);
  expect(output).toMatch(/healed: payment-api \/health 200/);
  expect(code).toBe(0);
}, 360_000);

const demoDatabase = async (): Promise<NodeJS.ProcessEnv> => ({
  VIGIL_DEMO_DATABASE_URL: await databaseUrl(),
  VIGIL_DEMO_DATABASE_NAME: uniqueName('demo')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_'),
});

it('pool-exhaustion: idle sessions take every slot of the database, Vigil reads the server from its maintenance database and ends them, alone', async () => {
  const { code, output } = await runDemo(['--scenario', 'pool-exhaustion', '--timeout', '240'], await demoDatabase());
  expect(output).toMatch(/HYPOTHESIS_RECEIVED\s+Postgres connections are exhausted \(database \w+\): 14 of 14 usable slots/);
  expect(output).toMatch(/refused the probe's own connection/);
  expect(output).not.toMatch(/AWAITING_APPROVAL/);
  expect(output).toMatch(/EXECUTING\s+postgres\.terminate_idle_sessions/);
  expect(output).toMatch(/succeeded: terminated 14 session\(s\) of \w+ idle for over 1s: .*via the maintenance database postgres/);
  expect(output).toMatch(/proof: passing/);
  expect(output).toMatch(/healed: payment-api \/health 200/);
  expect(code).toBe(0);
}, 360_000);

it('idle-in-transaction: /health stays green, a long-transaction rule pages, Vigil ends exactly the sessions it found, alone', async () => {
  const { code, output } = await runDemo(['--scenario', 'idle-in-transaction', '--timeout', '240'], await demoDatabase());
  expect(output).toMatch(/IdleInTransaction fired → paged Vigil/);
  expect(output).toMatch(/HYPOTHESIS_RECEIVED\s+3 Postgres sessions have been idle in a transaction for over 10s/);
  expect(output).not.toMatch(/AWAITING_APPROVAL/);
  expect(output).toMatch(/EXECUTING\s+postgres\.terminate_idle_in_transaction \{"older_than_s":10\}/);
  expect(output).toMatch(/succeeded: terminated 3 session\(s\) idle in a transaction for over 10s/);
  expect(output).toMatch(/RESOLVED\s+remediated; MTTR/);
  expect(code).toBe(0);
}, 360_000);

it('refuses bad options with a usage message and exit 2', async () => {
  const { code, output } = await runDemo(['--scenario', 'meteor'], {});
  expect(code).toBe(2);
  expect(output).toMatch(
    /--scenario must be one of pg-lock \(healed\), pool-exhaustion \(healed\), idle-in-transaction \(healed\), superuser-lock \(Vigil must escalate\) \(got "meteor"\)/,
  );
});
