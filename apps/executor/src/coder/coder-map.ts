import { createHash } from 'node:crypto';
import { VigilError } from '@vigil/errors';
import type { ScriptRequest } from '../sandbox/runner.js';
import type { RichParameterValue, WorkspaceBuild } from './coder-api.js';
import { coderMetadataKeys, coderParameterNames } from './coder-contract.js';

/** Coder's workspace-name rule: letters, digits, single hyphens between them; at most 32 characters. */
const workspaceNamePattern = /^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$/;
const maxWorkspaceName = 32;
/** The run's own part of the name: enough hex of a hash of the execution id not to collide. */
const minIdChars = 8;

/** Throws when `prefix` cannot start a valid workspace name with room for the run's id. */
export function checkNamePrefix(prefix: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(prefix) || prefix.includes('--') || prefix.length > maxWorkspaceName - minIdChars) {
    throw new VigilError(
      'CODER_CONFIG_INVALID',
      `Coder workspace name prefix "${prefix}" is invalid: lower-case letters, digits and single hyphens, at most ${maxWorkspaceName - minIdChars} characters`,
    );
  }
}

/**
 * `<prefix><hash>`: deterministic per execution (so a lost create answer can be found again by
 * name) and short enough for Coder's 32-character limit whatever the execution id looks like.
 */
export function workspaceNameFor(prefix: string, executionId: string): string {
  const room = Math.min(12, maxWorkspaceName - prefix.length);
  const name = `${prefix}${createHash('sha256').update(executionId).digest('hex').slice(0, room)}`;
  if (!workspaceNamePattern.test(name)) throw new VigilError('CODER_CONFIG_INVALID', `workspace name "${name}" is not a valid Coder name`);
  return name;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Rejects a request the runner cannot pass on faithfully, before anything is created. */
export function checkScriptRequest(request: ScriptRequest): void {
  const bad = Object.keys(request.env).filter((name) => !envName.test(name));
  if (bad.length) {
    throw new VigilError(
      'SCRIPT_REQUEST_INVALID',
      `script env names must match ${envName.source}: ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
    );
  }
  const badTargets = request.egress.filter((t) => !/^[^\s:]+:\d{1,5}$/.test(t) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(t));
  if (badTargets.length) throw new VigilError('SCRIPT_REQUEST_INVALID', `egress targets must be host:port: ${badTargets.join(', ')}`);
  if (!(request.limits.timeoutMs > 0)) throw new VigilError('SCRIPT_REQUEST_INVALID', 'limits.timeoutMs must be positive');
  if (!(request.limits.outputBytes > 0)) throw new VigilError('SCRIPT_REQUEST_INVALID', 'limits.outputBytes must be positive');
}

/** The template's parameters for one run (names: `coderParameterNames`). Never the private key. */
export function richParametersFor(request: ScriptRequest, publicKey: string, allowedFrom: string): RichParameterValue[] {
  const p = coderParameterNames;
  return [
    { name: p.incidentId, value: request.incidentId },
    { name: p.executionId, value: request.executionId },
    { name: p.service, value: request.service },
    { name: p.egress, value: JSON.stringify(request.egress) },
    { name: p.credentials, value: JSON.stringify(request.env) },
    { name: p.sshPublicKey, value: publicKey.trim() },
    { name: p.sshAllowedFrom, value: allowedFrom },
  ];
}

export interface SshEndpoint {
  host: string;
  port: number;
  /** `SHA256:<base64>`; absent when the template does not report one. */
  hostKeyFingerprint?: string;
}

export type BuildProgress =
  { state: 'waiting'; reason: string } | { state: 'ready'; endpoint: SshEndpoint } | { state: 'failed'; reason: string };

const agentFailed = new Set(['start_error', 'start_timeout', 'shutting_down', 'shutdown_timeout', 'shutdown_error', 'off']);
const buildFailed = new Set(['failed', 'canceling', 'canceled', 'stopping', 'stopped', 'deleting', 'deleted']);

/**
 * Where a start build is: still provisioning, ready to take an SSH connection (job succeeded,
 * workspace running, every agent `ready`, the endpoint reported), or failed for good.
 */
export function assessBuild(build: WorkspaceBuild): BuildProgress {
  const job = build.job;
  if (job.status === 'failed' || job.status === 'canceled' || job.status === 'canceling') {
    return { state: 'failed', reason: `build ${job.status}${job.error ? `: ${job.error}` : ''}` };
  }
  if (build.transition !== 'start') return { state: 'failed', reason: `the workspace's build is a ${build.transition}, not a start` };
  if (buildFailed.has(build.status)) return { state: 'failed', reason: `workspace ${build.status}` };
  if (job.status !== 'succeeded') return { state: 'waiting', reason: `build job ${job.status}` };
  if (build.status !== 'running') return { state: 'waiting', reason: `workspace ${build.status}` };
  const agents = (build.resources ?? []).flatMap((r) => r.agents ?? []);
  if (agents.length === 0) return { state: 'failed', reason: 'the template has no agent to wait for' };
  for (const agent of agents) {
    const lifecycle = agent.lifecycle_state ?? 'created';
    if (agentFailed.has(lifecycle)) return { state: 'failed', reason: `agent ${agent.name ?? agent.id} is ${lifecycle}` };
    if (lifecycle !== 'ready')
      return { state: 'waiting', reason: `agent ${agent.name ?? agent.id} is ${lifecycle} (${agent.status ?? 'unknown'})` };
  }
  const endpoint = sshEndpointOf(build);
  if (typeof endpoint === 'string') return { state: 'failed', reason: endpoint };
  return { state: 'ready', endpoint };
}

/** The SSH endpoint from the build's resource metadata, or why it cannot be read. */
export function sshEndpointOf(build: WorkspaceBuild): SshEndpoint | string {
  const metadata = new Map<string, string>();
  for (const resource of build.resources ?? []) for (const item of resource.metadata ?? []) metadata.set(item.key, item.value);
  const k = coderMetadataKeys;
  const host = metadata.get(k.sshHost)?.trim();
  const portText = metadata.get(k.sshPort)?.trim();
  if (!host || !portText) return `the template reports no SSH endpoint (resource metadata "${k.sshHost}" and "${k.sshPort}")`;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return `metadata "${k.sshPort}" is not a port: ${JSON.stringify(portText)}`;
  const fingerprint = metadata.get(k.sshHostKeyFingerprint)?.trim();
  if (fingerprint !== undefined && fingerprint !== '' && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(fingerprint)) {
    return `metadata "${k.sshHostKeyFingerprint}" is not an OpenSSH SHA256 fingerprint: ${JSON.stringify(fingerprint)}`;
  }
  return { host, port, ...(fingerprint ? { hostKeyFingerprint: fingerprint } : {}) };
}

/** OpenSSH's fingerprint of a public key blob (SSH wire format), as `ssh-keygen -l` prints it. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export const defaultInterpreters: Record<ScriptRequest['language'], string> = {
  bash: 'bash -s',
  sh: 'sh -s',
  python: 'python3 -',
  // Connection from PG* variables in the step's env; stop at the first error.
  sql: 'psql -X -v ON_ERROR_STOP=1 -f -',
};

/** The PATH the script gets unless its env sets one: the remote environment is never inherited. */
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The command line sshd hands to the login shell: a clean environment holding only the step's
 * env (`env -i`), CPU and memory limits, then the interpreter reading the code from stdin, under
 * `timeout -s KILL` (whole process group) where the workspace has it, so the script dies at its
 * limit even though the executor cannot signal it over SSH.
 * Values sit on the command line, seen only inside this single-use workspace.
 */
export function scriptCommand(request: ScriptRequest, interpreters: Record<ScriptRequest['language'], string>): string {
  const limits: string[] = [];
  if (request.limits.cpuSeconds > 0) limits.push(`ulimit -t ${Math.ceil(request.limits.cpuSeconds)}`);
  if (request.limits.memoryBytes > 0) limits.push(`ulimit -v ${Math.ceil(request.limits.memoryBytes / 1024)}`);
  const interpreter = interpreters[request.language];
  // Whole seconds (busybox's timeout takes no fractions), never before the executor's own timer.
  const seconds = Math.max(1, Math.ceil(request.limits.timeoutMs / 1000));
  const guarded = `if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL ${seconds} ${interpreter}; else exec ${interpreter}; fi`;
  const inner = [...limits, guarded].join(' && ');
  const env = { PATH: defaultPath, ...request.env };
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
  return ['exec', 'env', '-i', ...assignments, 'sh', '-c', shellQuote(inner)].join(' ');
}
