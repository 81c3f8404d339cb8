import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ScriptRequest } from '../sandbox/runner.js';
import type { WorkspaceBuild } from './coder-api.js';
import { coderParameterNames } from './coder-contract.js';
import {
  assessBuild,
  checkNamePrefix,
  checkScriptRequest,
  defaultInterpreters,
  richParametersFor,
  scriptCommand,
  sshEndpointOf,
  workspaceNameFor,
} from './coder-map.js';

const request = (overrides: Partial<ScriptRequest> = {}): ScriptRequest => ({
  executionId: '0190f3a1-7c2e-7d4b-9a51-3c8e2f1d0a77',
  incidentId: 'inc-1',
  service: 'checkout',
  language: 'bash',
  code: 'true',
  egress: [],
  env: {},
  limits: { timeoutMs: 1_000, memoryBytes: 0, cpuSeconds: 0, outputBytes: 1_024 },
  ...overrides,
});

const metadata = [
  { key: 'ssh_host', value: '10.0.0.7' },
  { key: 'ssh_port', value: '2222' },
  { key: 'ssh_host_key_fingerprint', value: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' },
];

const build = (job: string, status: string, lifecycle?: string, meta = metadata): WorkspaceBuild => ({
  id: 'b1',
  workspace_id: 'w1',
  transition: 'start',
  status,
  job: { id: 'j1', status: job, error: job === 'failed' ? 'terraform: boom' : null },
  resources:
    lifecycle === undefined ? [] : [{ name: 'main', metadata: meta, agents: [{ id: 'a1', name: 'main', lifecycle_state: lifecycle }] }],
});

describe('workspace names', () => {
  it('are deterministic per execution, distinct across executions and valid Coder names', () => {
    const a = workspaceNameFor('vigil-run-', 'exec-1');
    expect(a).toBe(workspaceNameFor('vigil-run-', 'exec-1'));
    expect(a).not.toBe(workspaceNameFor('vigil-run-', 'exec-2'));
    expect(a).toMatch(/^vigil-run-[0-9a-f]{12}$/);
    // UUIDv7 ids share their time prefix: the hash keeps runs of the same millisecond apart.
    expect(workspaceNameFor('vigil-run-', '0190f3a1-7c2e-7d4b-9a51-000000000001')).not.toBe(
      workspaceNameFor('vigil-run-', '0190f3a1-7c2e-7d4b-9a51-000000000002'),
    );
    const long = workspaceNameFor('a-rather-long-prefix-x-', 'exec-1');
    expect(long.length).toBeLessThanOrEqual(32);
  });

  it('refuse a prefix Coder would reject or that leaves no room', () => {
    expect(() => checkNamePrefix('vigil-run-')).not.toThrow();
    for (const bad of ['Vigil-', '-x', 'a--b', 'a_b', 'x'.repeat(25)]) expect(() => checkNamePrefix(bad), bad).toThrow(/prefix/);
  });
});

describe('requests and parameters', () => {
  it('refuses env names a shell cannot carry and egress that is not host:port', () => {
    expect(() => checkScriptRequest(request({ env: { 'A-B': '1' } }))).toThrow(/"A-B"/);
    expect(() => checkScriptRequest(request({ egress: ['db.internal'] }))).toThrow(/host:port: db.internal/);
    expect(() => checkScriptRequest(request({ egress: ['db.internal:5432', '[::1]:6379'] }))).not.toThrow();
  });

  it('fills every contract parameter, and never with a private key', () => {
    const params = richParametersFor(request({ egress: ['a:1'], env: { T: 'v' } }), 'ssh-ed25519 AAAA x\n', '10.0.0.1');
    expect(params.map((p) => p.name).sort()).toEqual(Object.values(coderParameterNames).sort());
    expect(params.find((p) => p.name === coderParameterNames.sshPublicKey)?.value).toBe('ssh-ed25519 AAAA x');
    expect(params.find((p) => p.name === coderParameterNames.egress)?.value).toBe('["a:1"]');
  });
});

describe('assessBuild', () => {
  it('waits through the job states and the agent lifecycle, then reads the endpoint', () => {
    expect(assessBuild(build('pending', 'pending'))).toMatchObject({ state: 'waiting', reason: 'build job pending' });
    expect(assessBuild(build('running', 'starting'))).toMatchObject({ state: 'waiting' });
    expect(assessBuild(build('succeeded', 'running', 'created'))).toMatchObject({
      state: 'waiting',
      reason: expect.stringContaining('created'),
    });
    expect(assessBuild(build('succeeded', 'running', 'starting'))).toMatchObject({ state: 'waiting' });
    expect(assessBuild(build('succeeded', 'running', 'ready'))).toEqual({
      state: 'ready',
      endpoint: { host: '10.0.0.7', port: 2222, hostKeyFingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' },
    });
  });

  it('fails for good on a failed or canceled job, a broken agent or a template without an agent', () => {
    expect(assessBuild(build('failed', 'failed'))).toEqual({ state: 'failed', reason: 'build failed: terraform: boom' });
    expect(assessBuild(build('canceled', 'canceled'))).toMatchObject({ state: 'failed' });
    expect(assessBuild(build('succeeded', 'running', 'start_error'))).toMatchObject({
      state: 'failed',
      reason: 'agent main is start_error',
    });
    expect(assessBuild(build('succeeded', 'running'))).toMatchObject({ state: 'failed', reason: expect.stringContaining('no agent') });
    expect(assessBuild({ ...build('succeeded', 'deleted', 'ready'), transition: 'delete' })).toMatchObject({ state: 'failed' });
  });

  it('names the metadata it is missing or cannot read', () => {
    const ready = (meta: typeof metadata) => build('succeeded', 'running', 'ready', meta);
    expect(sshEndpointOf(ready([]))).toContain('"ssh_host" and "ssh_port"');
    expect(sshEndpointOf(ready([metadata[0]!, { key: 'ssh_port', value: 'ssh' }]))).toContain('not a port');
    expect(sshEndpointOf(ready([metadata[0]!, metadata[1]!, { key: 'ssh_host_key_fingerprint', value: 'MD5:aa' }]))).toContain(
      'not an OpenSSH',
    );
    expect(sshEndpointOf(ready([metadata[0]!, metadata[1]!]))).toEqual({ host: '10.0.0.7', port: 2222 });
  });
});

describe('scriptCommand', () => {
  it('gives the interpreter only the declared env, quoted so any value survives', () => {
    const tricky = `it's "quoted" $HOME \`id\` ; rm -rf /nothing`;
    const command = scriptCommand(
      request({
        env: { TRICKY: tricky, EMPTY: '' },
        limits: { timeoutMs: 1, memoryBytes: 512 * 1024 * 1024, cpuSeconds: 5, outputBytes: 1 },
      }),
      { ...defaultInterpreters, bash: 'sh -s' },
    );
    const out = execFileSync('sh', ['-c', command], {
      input: 'printf "%s\\n" "$TRICKY"; printf "[%s]\\n" "$EMPTY"; ulimit -t; ulimit -v; env | cut -d= -f1 | sort | tr "\\n" " "',
      env: { ...process.env, LEAKED_FROM_PARENT: 'yes' },
      encoding: 'utf8',
    });
    const [value, empty, cpu, memory, names] = out.split('\n');
    expect(value).toBe(tricky);
    expect(empty).toBe('[]');
    expect(cpu).toBe('5');
    expect(memory).toBe(String(512 * 1024));
    expect(
      names!
        .trim()
        .split(' ')
        .filter((n) => n !== 'PWD'),
    ).toEqual(['EMPTY', 'PATH', 'TRICKY']);
  });

  it('kills the script and its children at the time limit, even when nobody signals it', () => {
    const command = scriptCommand(
      request({ limits: { timeoutMs: 1_000, memoryBytes: 0, cpuSeconds: 0, outputBytes: 1 } }),
      defaultInterpreters,
    );
    let signal: string | null = null;
    let stdout = '';
    try {
      execFileSync('sh', ['-c', command], { input: 'echo early; sleep 20 & wait; echo late', encoding: 'utf8' });
    } catch (err) {
      ({ signal, stdout } = err as { signal: string | null; stdout: string });
    }
    expect(stdout).toBe('early\n');
    // timeout KILLs its whole process group, itself included (the command exec'd into it).
    expect(signal).toBe('SIGKILL');
  });
});
