import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isVigilError, type VigilError } from '@vigil/errors';
import { createLogger } from '@vigil/platform';
import { eventually, freePort, uniqueName } from '@vigil/testing';
import { createCoderRunner, coderParameterNames, type CoderRunnerOptions } from '../src/coder/index.js';
import type { ScriptRequest } from '../src/sandbox/runner.js';
import { startFakeCoder, type FakeCoder } from './fakes/coder.fake.js';
import { readAuthorizedKeys, startTestSshd, type TestSshd } from './fakes/coder-sshd.js';

const token = `coder-session-${randomBytes(16).toString('hex')}`;
const templateId = '6e7f3c5a-1c9b-4a50-9d3c-3f1f0c6c2a10';
const templateVersionId = '0ba39c92-1f1b-4c32-aa3e-9925d7713eb1';
const organizationId = '7c60d51f-b44e-4682-87d6-449835ea4de6';

let sshd: TestSshd;
let fake: FakeCoder;
const logLines: string[] = [];
/** Every error a run or a check produced, to prove none of them carries a secret. */
const seenErrors: unknown[] = [];
const log = createLogger({ service: 'executor-test', level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });

beforeAll(async () => {
  sshd = await startTestSshd();
  fake = await startFakeCoder({
    sessionToken: token,
    templateId,
    templateVersionId,
    organizationId,
    username: 'vigil-runner',
    ssh: { host: sshd.host, port: sshd.port, hostKeyFingerprint: sshd.hostKeyFingerprint, authorizedKeysFile: sshd.authorizedKeysFile },
  });
});

afterAll(async () => {
  await fake?.close();
  await sshd?.stop();
});

beforeEach(() => {
  fake.scenario = {};
});

const runnerWith = (overrides: Partial<CoderRunnerOptions> = {}) =>
  createCoderRunner({
    url: fake.url,
    sessionToken: token,
    templateId,
    sshUser: sshd.user,
    pollIntervalMs: 20,
    readyTimeoutMs: 15_000,
    log,
    ...overrides,
  });

const request = (overrides: Partial<ScriptRequest> = {}): ScriptRequest => ({
  executionId: uniqueName('exec'),
  incidentId: 'inc-42',
  service: 'checkout',
  language: 'bash',
  code: 'echo hello',
  egress: [],
  env: {},
  limits: { timeoutMs: 20_000, memoryBytes: 0, cpuSeconds: 0, outputBytes: 65_536 },
  ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<VigilError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  seenErrors.push(error);
  if (!isVigilError(error)) throw new Error(`expected a VigilError, got ${String(error)}`);
  return error;
}

/** The workspace the last create made, and whether a delete build was accepted for it. */
function lastWorkspace(): { name: string; deleteCount: number } {
  const name = String(fake.creates.at(-1)?.body.name);
  return { name, deleteCount: fake.deletes.filter((d) => d.name === name).length };
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sessionsStarted = (): number => sshd.log().split('Starting session: command').length - 1;

describe('Coder runner: a workspace per run over SSH', () => {
  it('runs the script with only its declared env and returns output and exit code, then deletes the workspace', async () => {
    const runner = runnerWith();
    const result = await runner.run(
      request({
        egress: ['db.internal:5432'],
        env: { GREETING: "it's me", PGPASSWORD: 'short-lived-pw' },
        code: 'echo "$GREETING"; echo to-stderr >&2; env | cut -d= -f1 | sort',
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(result.timedOut).toBe(false);
    expect(result.truncated).toBe(false);
    expect(result.stderr).toBe('to-stderr\n');
    const [greeting, ...names] = result.stdout.trim().split('\n');
    expect(greeting).toBe("it's me");
    // Nothing from sshd's session (HOME, USER, SSH_CONNECTION, …): only the step's env and a PATH.
    expect(names.filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n))).toEqual(['GREETING', 'PATH', 'PGPASSWORD']);

    const { name, deleteCount } = lastWorkspace();
    expect(name).toMatch(/^vigil-run-[0-9a-f]{12}$/);
    expect(deleteCount).toBe(1);
    await eventually(() => fake.workspaces().find((w) => w.name === name)?.deleted);

    const created = fake.creates.at(-1)!;
    expect(created.path).toBe('/api/v2/users/me/workspaces');
    expect(created.body.template_id).toBe(templateId);
    const params = Object.fromEntries(
      (created.body.rich_parameter_values as Array<{ name: string; value: string }>).map((p) => [p.name, p.value]),
    );
    expect(params[coderParameterNames.incidentId]).toBe('inc-42');
    expect(params[coderParameterNames.service]).toBe('checkout');
    expect(JSON.parse(params[coderParameterNames.egress]!)).toEqual(['db.internal:5432']);
    expect(JSON.parse(params[coderParameterNames.credentials]!)).toEqual({ GREETING: "it's me", PGPASSWORD: 'short-lived-pw' });
    const publicKey = params[coderParameterNames.sshPublicKey]!;
    expect(publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ /);
    // sshd accepted exactly that one-time key.
    const blob = Buffer.from(publicKey.split(' ')[1]!, 'base64');
    const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    expect(sshd.log()).toContain(`Accepted publickey for ${sshd.user} from 127.0.0.1`);
    expect(sshd.log()).toContain(fingerprint);
    // After the delete the key is gone with the workspace.
    await eventually(() => readAuthorizedKeys(sshd) === '');
  });

  it('reports a non-zero exit (organization route, pinned template version, sh)', async () => {
    const runner = runnerWith({ organization: organizationId, templateId: undefined, templateVersionId });
    const result = await runner.run(request({ language: 'sh', code: 'echo partial; echo broken >&2; exit 3' }));
    expect(result).toMatchObject({ stdout: 'partial\n', stderr: 'broken\n', exitCode: 3, timedOut: false });
    expect(fake.creates.at(-1)!.path).toBe(`/api/v2/organizations/${organizationId}/members/me/workspaces`);
    expect(fake.creates.at(-1)!.body.template_version_id).toBe(templateVersionId);
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('cuts output at the limit and says so', async () => {
    const runner = runnerWith();
    const result = await runner.run(
      request({ code: "head -c 100000 /dev/zero | tr '\\0' a; echo done >&2", limits: { ...request().limits, outputBytes: 1000 } }),
    );
    expect(result.stdout).toHaveLength(1000);
    expect(result.truncated).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('fails a failed build with the job error and deletes the workspace; nothing ran', async () => {
    fake.scenario = { outcome: 'failed' };
    const before = sessionsStarted();
    const error = await failure(runnerWith().run(request()));
    expect(error.code).toBe('CODER_BUILD_FAILED');
    expect(error.message).toContain('image not found');
    expect(error.details).toMatchObject({ scriptStarted: false });
    expect(lastWorkspace().deleteCount).toBe(1);
    expect(sessionsStarted()).toBe(before);
  });

  it('fails a canceled build and deletes the workspace', async () => {
    fake.scenario = { outcome: 'canceled' };
    const error = await failure(runnerWith().run(request()));
    expect(error.code).toBe('CODER_BUILD_FAILED');
    expect(error.message).toContain('canceled');
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('gives up on an agent that never gets ready at the deadline, and deletes the workspace', async () => {
    fake.scenario = { agent: 'never' };
    // Long enough for the five polls that take the build to its agent (about 0.1 s unloaded):
    // a deadline that came first would name the build's state, not the agent's.
    const error = await failure(runnerWith({ readyTimeoutMs: 2_000 }).run(request()));
    expect(error.code).toBe('CODER_NOT_READY');
    expect(error.message).toContain('agent main is starting');
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('cancels a build still running at the deadline so that the delete is accepted', async () => {
    fake.scenario = { pollsPerState: 100_000 };
    const error = await failure(runnerWith({ readyTimeoutMs: 300 }).run(request()));
    expect(error.code).toBe('CODER_NOT_READY');
    const { name, deleteCount } = lastWorkspace();
    expect(deleteCount).toBe(1);
    const id = fake.workspaces().find((w) => w.name === name)!.id;
    const calls = fake.requests
      .filter((r) => r.path.includes(id) || r.path.includes('/cancel'))
      .map((r) => `${r.method} ${r.path.split('/')[3]}`);
    // The first delete met the active build (409), the build was cancelled, the retry went through.
    expect(calls.filter((c) => c === 'POST workspaces')).toHaveLength(2);
    expect(fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/cancel'))).toBe(true);
  });

  it('stops a script past its time limit, marks it timed out and deletes the workspace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-coder-'));
    const pidFile = join(dir, 'pid');
    try {
      const result = await runnerWith().run(
        request({
          env: { PID_FILE: pidFile },
          code: 'echo "$$" > "$PID_FILE"; sleep 30 & wait',
          limits: { ...request().limits, timeoutMs: 1_500 },
        }),
      );
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).toBeNull();
      expect(lastWorkspace().deleteCount).toBe(1);
      // sshd runs on this host, so the script's process can be watched: it does not outlive its
      // limit (the command's own timeout guard; the executor cannot signal it over SSH).
      // Both watched with a deadline well short of the 30 s the sleep would last unkilled; the
      // shell and its sleep die of the same SIGKILL, but not necessarily in the same instant.
      const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined));
      await eventually(() => !isAlive(pid), { timeoutMs: 10_000, message: `script process ${pid} still running` });
      await eventually(() => !/^sleep 30$/m.test(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })), {
        timeoutMs: 10_000,
        message: 'the script left its sleep 30 running',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('aborted while provisioning: stops waiting and deletes the workspace', async () => {
    fake.scenario = { pollsPerState: 100_000 };
    const controller = new AbortController();
    const creates = fake.creates.length;
    const running = failure(runnerWith().run(request({ signal: controller.signal })));
    await eventually(() => fake.creates.length > creates);
    controller.abort();
    const error = await running;
    expect(error.code).toBe('CODER_ABORTED');
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('refuses a workspace whose sshd does not accept the one-time key (the template installed another)', async () => {
    fake.scenario = { authorizedKey: 'other' };
    const error = await failure(runnerWith().run(request()));
    expect(error.code).toBe('CODER_SSH_AUTH_FAILED');
    expect(error.details).toMatchObject({ scriptStarted: false });
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('checks the host key against the reported fingerprint', async () => {
    fake.scenario = { fingerprint: 'wrong' };
    const wrong = await failure(runnerWith().run(request()));
    expect(wrong.code).toBe('CODER_SSH_HOST_KEY_MISMATCH');
    expect(wrong.message).toContain(sshd.hostKeyFingerprint);
    expect(lastWorkspace().deleteCount).toBe(1);

    fake.scenario = { fingerprint: 'none' };
    const missing = await failure(runnerWith().run(request()));
    expect(missing.code).toBe('CODER_SSH_HOST_KEY_MISMATCH');
    expect(missing.message).toContain('no host key fingerprint');
    expect(lastWorkspace().deleteCount).toBe(1);

    const unchecked = await runnerWith({ requireHostKeyFingerprint: false }).run(request({ code: 'echo unchecked' }));
    expect(unchecked.stdout).toBe('unchecked\n');
    expect(lastWorkspace().deleteCount).toBe(1);
  });

  it('while a run is live: another key is refused by sshd, and the sweeper leaves the run alone', async () => {
    const runner = runnerWith();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-coder-'));
    const release = join(dir, 'release');
    try {
      const before = sessionsStarted();
      const running = runner.run(
        request({ env: { RELEASE: release }, code: 'while [ ! -e "$RELEASE" ]; do sleep 0.05; done; echo released' }),
      );
      await eventually(() => sessionsStarted() > before);
      const { name } = lastWorkspace();

      // Someone else's key (a valid ed25519 key, just not the run's) gets nowhere.
      const intruder = ssh2.utils.generateKeyPairSync('ed25519');
      const refused = await new Promise<Error & { level?: string }>((resolve) => {
        const conn = new ssh2.Client();
        conn.on('ready', () => {
          conn.end();
          resolve(Object.assign(new Error('intruder got in'), { level: 'none' }));
        });
        conn.on('error', resolve);
        conn.connect({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: intruder.private, authHandler: ['publickey'] });
      });
      expect(refused.level).toBe('client-authentication');

      // The runner knows its own live run; a sibling replica keeps it by age.
      const own = await runner.sweepOrphans();
      expect(own.kept).toContain(name);
      const sibling = await runnerWith().sweepOrphans({ olderThanMs: 60_000 });
      expect(sibling.kept).toContain(name);
      expect(fake.deletes.filter((d) => d.name === name)).toHaveLength(0);
      writeFileSync(release, '');
      expect((await running).stdout).toBe('released\n');
      expect(fake.deletes.filter((d) => d.name === name)).toHaveLength(1);
    } finally {
      writeFileSync(release, '');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('available(): the URL answers and the token and template work; otherwise it says why', async () => {
    expect(await runnerWith().available()).toEqual({ ok: true });

    fake.scenario = { echoTokenInErrors: true };
    const wrongToken = `coder-session-${randomBytes(16).toString('hex')}`;
    const refused = await runnerWith({ sessionToken: wrongToken }).available();
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.reason).toContain('refused the session token');
      expect(refused.reason).not.toContain(wrongToken);
    }
    const unauthorized = await failure(runnerWith({ sessionToken: wrongToken }).run(request()));
    expect(unauthorized.code).toBe('CODER_UNAUTHORIZED');
    expect(JSON.stringify(unauthorized)).not.toContain(wrongToken);
    expect(unauthorized.message).not.toContain(wrongToken);
    seenErrors.push(refused);

    const unknownTemplate = await runnerWith({ templateId: 'f00dfeed-0000-4000-8000-000000000000' }).available();
    expect(unknownTemplate).toMatchObject({ ok: false, reason: expect.stringContaining('template not found') });

    const nowhere = await runnerWith({ url: `http://127.0.0.1:${await freePort()}` }).available();
    expect(nowhere).toMatchObject({ ok: false, reason: expect.stringContaining('does not answer') });
  });

  it('rejects bad configuration and bad requests before creating anything', async () => {
    expect(() => runnerWith({ templateVersionId })).toThrow(/exactly one of templateId and templateVersionId/);
    expect(() => runnerWith({ namePrefix: 'Bad_Prefix' })).toThrow(/prefix "Bad_Prefix" is invalid/);
    const creates = fake.creates.length;
    const error = await failure(runnerWith().run(request({ env: { 'BAD-NAME': 'x' } })));
    expect(error.code).toBe('SCRIPT_REQUEST_INVALID');
    expect(error.message).toContain('"BAD-NAME"');
    expect(fake.creates.length).toBe(creates);
  });

  // Runs last: it reads what every test above left behind.
  it('never lets the session token or a private key out: errors, logs, requests', () => {
    expect(seenErrors.length).toBeGreaterThan(8);
    expect(logLines.length).toBeGreaterThan(10);
    const everything = [
      ...logLines,
      ...seenErrors.flatMap((e) => {
        const chain: string[] = [];
        for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause)
          chain.push(String((c as Error).message), String((c as Error).stack), JSON.stringify(c));
        return chain;
      }),
    ].join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(fake.requests.some((r) => r.body.includes('PRIVATE KEY'))).toBe(false);
    // Every request carried the token in the header Coder reads, and only there.
    expect(
      fake.requests.filter((r) => r.path !== '/api/v2/buildinfo' && r.headers['coder-session-token'] === token).length,
    ).toBeGreaterThan(20);
    expect(fake.requests.some((r) => r.body.includes(token) || r.path.includes(token))).toBe(false);
  });
});
