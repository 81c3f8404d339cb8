import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, repoRoot } from '@vigil/testing';
import { createCoderRunner } from '../src/coder/index.js';
import { startFakeCoder, type FakeCoder } from './fakes/coder.fake.js';
import { startTestSshd, type TestSshd } from './fakes/coder-sshd.js';

const token = `coder-session-${randomBytes(16).toString('hex')}`;
const templateId = '6e7f3c5a-1c9b-4a50-9d3c-3f1f0c6c2a10';
const prefix = `crash-${randomBytes(3).toString('hex')}-`;

let sshd: TestSshd;
let fake: FakeCoder;

beforeAll(async () => {
  sshd = await startTestSshd();
  fake = await startFakeCoder({
    sessionToken: token,
    templateId,
    templateVersionId: '0ba39c92-1f1b-4c32-aa3e-9925d7713eb1',
    organizationId: '7c60d51f-b44e-4682-87d6-449835ea4de6',
    username: 'vigil-runner',
    ssh: { host: sshd.host, port: sshd.port, hostKeyFingerprint: sshd.hostKeyFingerprint, authorizedKeysFile: sshd.authorizedKeysFile },
  });
});

afterAll(async () => {
  await fake?.close();
  await sshd?.stop();
});

it('an executor killed mid-run leaves its workspace; the restarted executor sweeps it, and only it', async () => {
  // Not ours: a person's workspace, and one whose name merely contains the prefix.
  const bystander = fake.seed('someones-dev-box');
  const lookalike = fake.seed(`dev-${prefix}1`);

  const child = spawn(
    process.execPath,
    ['--conditions=@vigil/source', '--import', 'tsx', join(repoRoot, 'apps/executor/test/fakes/coder-crash.child.ts')],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        CODER_URL: fake.url,
        CODER_SESSION_TOKEN: token,
        CODER_TEMPLATE_ID: templateId,
        CODER_SSH_USER: sshd.user,
        CODER_NAME_PREFIX: prefix,
        EXECUTION_ID: `exec-${randomBytes(4).toString('hex')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    // The script is running in the workspace when the executor dies.
    await eventually(() => sshd.log().includes('Starting session: command'), {
      timeoutMs: 20_000,
      message: `the child's script did not start:\n${output}`,
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  expect(output).not.toContain('finished');
  const orphan = fake.workspaces().find((w) => w.name.startsWith(prefix))!;
  expect(orphan).toBeDefined();
  expect(orphan.deleted).toBe(false);
  expect(fake.deletes).toHaveLength(0);

  // The restart: a new runner with the same configuration sweeps before taking work.
  const restarted = createCoderRunner({
    url: fake.url,
    sessionToken: token,
    templateId,
    sshUser: sshd.user,
    namePrefix: prefix,
    pollIntervalMs: 20,
  });
  const report = await restarted.sweepOrphans();
  expect(report.deleted).toEqual([orphan.name]);
  expect(report.failed).toEqual([]);
  expect(fake.deletes.map((d) => d.name)).toEqual([orphan.name]);
  await eventually(() => fake.workspaces().find((w) => w.id === orphan.id)?.deleted);
  expect(fake.workspaces().find((w) => w.id === bystander.id)?.deleted).toBe(false);
  expect(fake.workspaces().find((w) => w.id === lookalike.id)?.deleted).toBe(false);

  // A second sweep finds nothing left to do.
  expect((await restarted.sweepOrphans()).deleted).toEqual([]);
});
