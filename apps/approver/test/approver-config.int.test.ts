import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@vigil/testing';

const run = promisify(execFile);

/** Runs the approver's main.ts as a process with only this environment; resolves with its exit. */
async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', join(repoRoot, 'apps/approver/src/main.ts')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', APPROVER_PORT: '1', ...env },
      timeout: 50_000,
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('the approver refuses bad configuration at start, naming it (exit 78), secrets unprinted', () => {
  it('half a Slack configuration', { timeout: 60_000 }, async () => {
    const result = await start({ SLACK_BOT_TOKEN: 'xoxb-secret-value-123' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET: set both');
    expect(result.stderr).not.toContain('xoxb-secret-value-123');
  });

  // Each case is a process start (tsx compiles the sources): slow on a loaded machine, hence the limit.
  it('a policy with an unknown risk', { timeout: 60_000 }, async () => {
    const policy = await start({ APPROVER_POLICY: '{"approvers":{"x":{"URGENT":["a"]}}}' });
    expect(policy.code).toBe(78);
    expect(policy.stderr).toMatch(/APPROVER_POLICY: approvers\.x.*URGENT/);
  });

  it('a malformed token pair', { timeout: 60_000 }, async () => {
    const tokens = await start({ APPROVER_API_TOKENS: 'ana:short' });
    expect(tokens.code).toBe(78);
    expect(tokens.stderr).toContain('APPROVER_API_TOKENS entry must be person:token');
    expect(tokens.stderr).not.toContain('short');
  });

  it('a malformed channel pair', { timeout: 60_000 }, async () => {
    const channels = await start({ APPROVER_SLACK_CHANNELS: 'payment-api' });
    expect(channels.code).toBe(78);
    expect(channels.stderr).toContain('APPROVER_SLACK_CHANNELS: "payment-api" is not service=channel');
  });

  it('a bad bot token', { timeout: 60_000 }, async () => {
    const bot = await start({ SLACK_BOT_TOKEN: 'not-a-token-value', SLACK_SIGNING_SECRET: 'secret-0123456789' });
    expect(bot.code).toBe(78);
    expect(bot.stderr).toContain('SLACK_BOT_TOKEN: a Slack bot token');
    expect(bot.stderr).not.toContain('not-a-token-value');
  });
});
