import { VigilError, isVigilError, toVigilError } from '@vigil/errors';
import type { Logger } from '@vigil/platform';
import type { ScriptRequest, ScriptResult, ScriptRunner } from '../sandbox/runner.js';
import { isJobActive, type Workspace } from './coder-api.js';
import { createCoderClient } from './coder-client.js';
import {
  assessBuild,
  checkNamePrefix,
  checkScriptRequest,
  defaultInterpreters,
  richParametersFor,
  scriptCommand,
  workspaceNameFor,
  type SshEndpoint,
} from './coder-map.js';
import { connectSsh, type SshSession } from './ssh-exec.js';
import { oneTimeKeyPair } from './one-time-key.js';

export interface CoderRunnerOptions {
  /** The Coder deployment, e.g. `https://coder.example.com`. */
  url: string;
  /** Secret. A token of the (service) user that owns the run workspaces. */
  sessionToken: string;
  /** Exactly one: the template (its active version is used) or a pinned template version. */
  templateId?: string;
  templateVersionId?: string;
  /** Organization id: create through `/organizations/{org}/members/{user}/workspaces`. */
  organization?: string;
  /** Workspace owner: username, UUID or `me` (default). */
  user?: string;
  /** Names of run workspaces; the sweeper deletes only names with this prefix. Default `vigil-run-`. */
  namePrefix?: string;
  /** From create to an SSH session (build, agent ready, sshd answering). Default 10 minutes. */
  readyTimeoutMs?: number;
  /** Between build polls. Default 2 s. */
  pollIntervalMs?: number;
  /** Per Coder API request. Default 15 s. */
  requestTimeoutMs?: number;
  /** The account sshd in the workspace accepts the one-time key for. */
  sshUser: string;
  /** One SSH handshake. Default 15 s. */
  sshConnectTimeoutMs?: number;
  /** Passed to the template as `vigil_ssh_allowed_from` (OpenSSH `from=` patterns). Default empty. */
  sshAllowedFrom?: string;
  /** Refuse a workspace that reports no host-key fingerprint. Default true. */
  requireHostKeyFingerprint?: boolean;
  /** How long to keep asking for a delete that an active build blocks (409). Default 2 minutes. */
  deleteTimeoutMs?: number;
  /** Interpreter command per language, reading the code from stdin. */
  interpreters?: Partial<Record<ScriptRequest['language'], string>>;
  log?: Logger;
}

export interface SweepReport {
  /** Orphans a delete build was started for. */
  deleted: string[];
  /** Prefix matches left alone: owned by a live run, already deleting, or too young. */
  kept: string[];
  failed: Array<{ name: string; reason: string }>;
}

export interface CoderRunner extends ScriptRunner {
  /**
   * Deletes every workspace with the name prefix that no run of this runner owns: the leftovers
   * of an executor that crashed mid-run. Call it at start (and periodically, to retry deletes
   * that failed). With several executor replicas sharing one owner, pass `olderThanMs` above the
   * longest possible run so a sibling's live workspace is never taken.
   */
  sweepOrphans(options?: { olderThanMs?: number; signal?: AbortSignal }): Promise<SweepReport>;
}

/**
 * Script steps in a Coder workspace over SSH: one workspace per run, created from the template
 * with the run's parameters and a one-time key, deleted in every outcome.
 */
export function createCoderRunner(options: CoderRunnerOptions): CoderRunner {
  if (Boolean(options.templateId) === Boolean(options.templateVersionId)) {
    throw new VigilError('CODER_CONFIG_INVALID', 'Coder runner: set exactly one of templateId and templateVersionId');
  }
  if (!options.sessionToken) throw new VigilError('CODER_CONFIG_INVALID', 'Coder runner: the session token is empty');
  const prefix = options.namePrefix ?? 'vigil-run-';
  checkNamePrefix(prefix);
  const user = options.user ?? 'me';
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 600_000;
  const deleteTimeoutMs = options.deleteTimeoutMs ?? 120_000;
  const interpreters = { ...defaultInterpreters, ...options.interpreters };
  const client = createCoderClient({
    url: options.url,
    sessionToken: options.sessionToken,
    requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
  });
  const log = options.log;
  /** Workspace names of runs in flight: never swept. */
  const live = new Set<string>();

  async function run(request: ScriptRequest): Promise<ScriptResult> {
    checkScriptRequest(request);
    const name = workspaceNameFor(prefix, request.executionId);
    const runLog = log?.child({ executionId: request.executionId, incidentId: request.incidentId, workspace: name });
    // A fresh key per run: the workspace accepts only it, and it dies with this function.
    const keys = oneTimeKeyPair(name);
    live.add(name);
    let workspaceId: string | undefined;
    /** Until Coder answers the create, a workspace may exist without us knowing its id. */
    let mayExist = true;
    let scriptStarted = false;
    try {
      const created = await client
        .createWorkspace(
          { user, ...(options.organization ? { organization: options.organization } : {}) },
          {
            name,
            ...(options.templateVersionId ? { template_version_id: options.templateVersionId } : { template_id: options.templateId }),
            rich_parameter_values: richParametersFor(request, keys.public, options.sshAllowedFrom ?? ''),
            ttl_ms: 0,
            automatic_updates: 'never',
          },
          request.signal,
        )
        .catch((err: unknown) => {
          // A definite refusal (4xx) created nothing; a lost answer may have.
          if (isVigilError(err) && /^CODER_(UNAUTHORIZED|NOT_FOUND|CONFLICT|BAD_REQUEST|API_ERROR)$/.test(err.code)) mayExist = false;
          throw err;
        });
      workspaceId = created.id;
      runLog?.info({ workspaceId, buildId: created.latest_build.id }, 'coder workspace created');
      const deadline = Date.now() + readyTimeoutMs;
      const endpoint = await waitUntilReady(created, deadline, request.signal);
      const ssh = await connectUntil(endpoint, keys.private, deadline, request.signal);
      try {
        scriptStarted = true;
        const result = await ssh.exec({
          command: scriptCommand(request, interpreters),
          stdin: request.code,
          timeoutMs: request.limits.timeoutMs,
          outputBytes: request.limits.outputBytes,
          ...(request.signal ? { signal: request.signal } : {}),
        });
        runLog?.info({ exitCode: result.exitCode, timedOut: result.timedOut, truncated: result.truncated }, 'coder script finished');
        return {
          stdout: result.stdout,
          stderr: result.stderr,
          exitCode: result.exitCode,
          truncated: result.truncated,
          timedOut: result.timedOut,
        };
      } finally {
        ssh.close();
      }
    } catch (err) {
      const error = runError(err, name, scriptStarted);
      runLog?.warn({ code: error.code, err: error.message }, 'coder run failed');
      throw error;
    } finally {
      if (workspaceId || mayExist) await destroy(name, workspaceId, runLog);
      live.delete(name);
    }
  }

  /** Polls the start build until the workspace can take an SSH connection. */
  async function waitUntilReady(created: Workspace, deadline: number, signal?: AbortSignal): Promise<SshEndpoint> {
    let build = created.latest_build;
    let last = 'not polled yet';
    for (;;) {
      const progress = assessBuild(build);
      if (progress.state === 'ready') return progress.endpoint;
      if (progress.state === 'failed') {
        throw new VigilError('CODER_BUILD_FAILED', `Coder workspace ${created.name} did not start: ${progress.reason}`, {
          details: { buildId: build.id },
        });
      }
      last = progress.reason;
      if (Date.now() + pollIntervalMs > deadline) {
        throw new VigilError(
          'CODER_NOT_READY',
          `Coder workspace ${created.name} was not ready within ${readyTimeoutMs} ms (last: ${last})`,
          {
            retryable: true,
          },
        );
      }
      await pause(pollIntervalMs, signal);
      build = await client.getBuild(build.id, signal);
    }
  }

  /** sshd may come up a moment after the agent reports ready: retry refused connections until the deadline. */
  async function connectUntil(endpoint: SshEndpoint, privateKey: string, deadline: number, signal?: AbortSignal): Promise<SshSession> {
    for (;;) {
      try {
        return await connectSsh({
          ...endpoint,
          username: options.sshUser,
          privateKey,
          requireHostKey: options.requireHostKeyFingerprint ?? true,
          connectTimeoutMs: Math.max(1_000, Math.min(options.sshConnectTimeoutMs ?? 15_000, deadline - Date.now())),
        });
      } catch (err) {
        if (!isVigilError(err, 'CODER_SSH_UNREACHABLE') || Date.now() + pollIntervalMs > deadline) throw err;
        await pause(pollIntervalMs, signal);
      }
    }
  }

  /**
   * Starts the delete build. A build still running (409) is cancelled first; a workspace that is
   * gone (404) or already deleting counts as done. Without an id (the create answer was lost),
   * the workspace is looked up by its name. Never throws: a failure is logged and left to the sweeper.
   */
  async function destroy(name: string, workspaceId: string | undefined, runLog?: Logger): Promise<void> {
    try {
      let id = workspaceId;
      if (!id) {
        try {
          id = (await client.getWorkspaceByName(user, name)).id;
        } catch (err) {
          if (isVigilError(err, 'CODER_NOT_FOUND')) return;
          throw err;
        }
      }
      await deleteWorkspace(id);
      runLog?.info({ workspaceId: id }, 'coder workspace delete started');
    } catch (err) {
      const error = toVigilError(err);
      (runLog ?? log)?.error(
        { workspace: name, code: error.code, err: error.message },
        'coder workspace not deleted; the sweeper will retry',
      );
    }
  }

  async function deleteWorkspace(id: string): Promise<void> {
    const deadline = Date.now() + deleteTimeoutMs;
    for (;;) {
      try {
        await client.createBuild(id, { transition: 'delete' });
        return;
      } catch (err) {
        if (isVigilError(err, 'CODER_NOT_FOUND')) return;
        const retry = isVigilError(err, 'CODER_CONFLICT') || (isVigilError(err) && err.retryable);
        if (!retry || Date.now() + pollIntervalMs > deadline) throw err;
        if (isVigilError(err, 'CODER_CONFLICT')) {
          const latest = (await client.getWorkspace(id)).latest_build;
          if (latest.transition === 'delete' && isJobActive(latest.job.status)) return;
          if (latest.job.status === 'pending' || latest.job.status === 'running')
            await client.cancelBuild(latest.id).catch(() => undefined);
        }
        await pause(pollIntervalMs);
      }
    }
  }

  async function sweepOrphans(sweep: { olderThanMs?: number; signal?: AbortSignal } = {}): Promise<SweepReport> {
    const report: SweepReport = { deleted: [], kept: [], failed: [] };
    const candidates: Workspace[] = [];
    const q = `owner:${user} name:${prefix}`;
    for (let offset = 0; ;) {
      const page = await client.listWorkspaces({ q, limit: 100, offset }, sweep.signal);
      const items = page.workspaces ?? [];
      candidates.push(...items);
      offset += items.length;
      if (items.length === 0 || offset >= page.count) break;
    }
    const now = Date.now();
    for (const ws of candidates) {
      // The server's name filter is a substring match: keep only true prefix matches.
      if (!ws.name.startsWith(prefix)) continue;
      const build = ws.latest_build;
      const deleting = build.transition === 'delete' && build.job.status !== 'failed' && build.job.status !== 'canceled';
      const age = ws.created_at ? now - Date.parse(ws.created_at) : Number.POSITIVE_INFINITY;
      if (live.has(ws.name) || deleting || age < (sweep.olderThanMs ?? 0)) {
        report.kept.push(ws.name);
        continue;
      }
      try {
        await deleteWorkspace(ws.id);
        report.deleted.push(ws.name);
      } catch (err) {
        report.failed.push({ name: ws.name, reason: toVigilError(err).message });
      }
    }
    if (report.deleted.length || report.failed.length) log?.warn(report, 'coder orphan sweep');
    return report;
  }

  async function available(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await client.buildInfo();
    } catch (err) {
      return { ok: false, reason: `Coder at ${options.url} does not answer: ${toVigilError(err).message}` };
    }
    try {
      await client.me();
      await client.checkTemplate(options);
    } catch (err) {
      const error = toVigilError(err);
      if (error.code === 'CODER_UNAUTHORIZED') return { ok: false, reason: `Coder refused the session token: ${error.message}` };
      if (error.code === 'CODER_NOT_FOUND') return { ok: false, reason: `Coder template not found: ${error.message}` };
      return { ok: false, reason: error.message };
    }
    return { ok: true };
  }

  return { name: 'coder', available, run, sweepOrphans };
}

/** Every failure of a run says which workspace, and whether the script may have started. */
function runError(err: unknown, workspace: string, scriptStarted: boolean): VigilError {
  const error = toVigilError(err, 'CODER_RUN_FAILED');
  return new VigilError(error.code, error.message, {
    retryable: error.retryable && !scriptStarted,
    cause: error,
    details: { ...error.details, workspace, scriptStarted },
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new VigilError('CODER_ABORTED', 'the run was aborted before the script started'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new VigilError('CODER_ABORTED', 'the run was aborted before the script started'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
