import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { CappedOutput } from './capped-output.js';

export interface SpawnSandboxOptions {
  bwrap: string;
  /** When the executor is root: drop to this host user first (see local-sandbox.ts for why). */
  dropTo?: { setpriv: string; uid: number; gid: number };
  /** bubblewrap's options (sent on fd 3) and the command to run inside. */
  options: readonly string[];
  command: readonly string[];
  timeoutMs: number;
  outputBytes: number;
  signal?: AbortSignal;
}

export interface SpawnSandboxResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  truncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  /** The launcher reported from inside: the sandbox was built and the script started. */
  started: boolean;
}

/** After the kill, how long the pipes may take to close before they are cut. */
const closeGraceMs = 2_000;

/**
 * Runs bubblewrap with the argument list on fd 3 and the "started" report on fd 4. bubblewrap
 * gets an empty environment: its pid-1 helper inside the sandbox never execs, so its
 * /proc/1/environ is whatever we start it with. On timeout or abort the whole process group is
 * SIGKILLed; bubblewrap's --die-with-parent then kills the sandbox's pid 1, and with it every
 * process in the sandbox's pid namespace.
 */
export function spawnSandbox(options: SpawnSandboxOptions): Promise<SpawnSandboxResult> {
  const { dropTo } = options;
  const bwrap = [options.bwrap, '--args', '3', '--', ...options.command];
  const drop = dropTo ? [dropTo.setpriv, '--reuid', String(dropTo.uid), '--regid', String(dropTo.gid), '--clear-groups', '--'] : [];
  const [file, ...argv] = [...drop, ...bwrap] as [string, ...string[]];
  const stdout = new CappedOutput(options.outputBytes);
  const stderr = new CappedOutput(options.outputBytes);
  let started = false;
  let timedOut = false;
  let aborted = false;

  return new Promise((resolve) => {
    const child = spawn(file, argv, { env: {}, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    const [, out, err, argsPipe, startedPipe] = child.stdio as [null, Readable, Readable, Writable, Readable];
    out.on('data', (chunk: Buffer) => stdout.push(chunk));
    err.on('data', (chunk: Buffer) => stderr.push(chunk));
    startedPipe.on('data', () => (started = true));
    for (const stream of [out, err, argsPipe, startedPipe]) stream.on('error', () => {});
    argsPipe.end(Buffer.from(options.options.map((a) => `${a}\0`).join('')));

    let exit: { code: number | null } | undefined;
    let grace: NodeJS.Timeout | undefined;
    const killTree = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killTree();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (code: number | null) => {
      clearTimeout(timer);
      clearTimeout(grace);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        stdout: stdout.text(),
        stderr: stderr.text(),
        exitCode: timedOut || aborted ? null : code,
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
        aborted,
        started,
      });
    };
    child.on('error', (error) => {
      stderr.push(Buffer.from(`could not start ${file}: ${error.message}\n`));
      finish(null);
    });
    child.on('exit', (code) => {
      exit = { code };
      // Everything in the sandbox dies with its pid 1; if a pipe still lingers, stop waiting for it.
      grace = setTimeout(() => {
        for (const stream of [out, err, startedPipe]) stream.destroy();
        finish(code);
      }, closeGraceMs);
    });
    child.on('close', (code) => finish(exit?.code ?? code));
  });
}
