import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { VigilError } from '@vigil/errors';
import { sshFingerprint, type SshEndpoint } from './coder-map.js';

export interface SshTarget extends SshEndpoint {
  username: string;
  /** The run's one-time private key (OpenSSH format). Secret: never in a message. */
  privateKey: string;
  /** Refuse a server whose host key cannot be checked against a reported fingerprint. */
  requireHostKey: boolean;
  /** Handshake and authentication, in ms. */
  connectTimeoutMs: number;
}

export interface ExecOptions {
  command: string;
  /** Written to the remote process's stdin, then EOF. */
  stdin: string;
  timeoutMs: number;
  /** Each of stdout and stderr is cut at this many bytes (the rest is read and dropped). */
  outputBytes: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** The signal that ended the remote process, when one did. */
  exitSignal?: string;
  truncated: boolean;
  timedOut: boolean;
}

export interface SshSession {
  exec(options: ExecOptions): Promise<ExecResult>;
  close(): void;
}

/**
 * Opens an SSH connection with the one-time key. The host key is checked against the template's
 * reported fingerprint; without one the connection is refused unless `requireHostKey` is off.
 * Errors: CODER_SSH_UNREACHABLE (retryable: sshd not listening yet), CODER_SSH_AUTH_FAILED,
 * CODER_SSH_HOST_KEY_MISMATCH, CODER_SSH_FAILED.
 */
export function connectSsh(target: SshTarget): Promise<SshSession> {
  const where = `${target.host}:${target.port}`;
  if (!target.hostKeyFingerprint && target.requireHostKey) {
    return Promise.reject(
      new VigilError('CODER_SSH_HOST_KEY_MISMATCH', `refusing SSH to ${where}: the template reported no host key fingerprint to check`),
    );
  }
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    let hostKeyProblem: string | undefined;
    let ready = false;
    conn.on('ready', () => {
      ready = true;
      resolve(session(conn, where));
    });
    conn.on('error', (err: Error & { level?: string; code?: string }) => {
      if (ready) return; // reported through the running exec
      conn.end();
      reject(connectError(where, err, hostKeyProblem));
    });
    conn.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      // Only the one-time key: no agent, no password, nothing from the executor's environment.
      authHandler: ['publickey'],
      hostVerifier: (key: Buffer): boolean => {
        if (!target.hostKeyFingerprint) return true;
        const seen = sshFingerprint(key);
        if (seen === target.hostKeyFingerprint) return true;
        hostKeyProblem = `host key ${seen} is not the reported ${target.hostKeyFingerprint}`;
        return false;
      },
    });
  });
}

function connectError(where: string, err: Error & { level?: string; code?: string }, hostKeyProblem: string | undefined): VigilError {
  if (hostKeyProblem) return new VigilError('CODER_SSH_HOST_KEY_MISMATCH', `refusing SSH to ${where}: ${hostKeyProblem}`);
  if (err.level === 'client-authentication') {
    return new VigilError('CODER_SSH_AUTH_FAILED', `SSH to ${where}: the one-time key was not accepted (${err.message})`);
  }
  const transient = ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'];
  if (err.level === 'client-timeout' || (err.code && transient.includes(err.code))) {
    return new VigilError('CODER_SSH_UNREACHABLE', `SSH to ${where}: ${err.code ?? err.message}`, { retryable: true });
  }
  return new VigilError('CODER_SSH_FAILED', `SSH to ${where}: ${err.message}`);
}

function session(conn: ssh2.Client, where: string): SshSession {
  return {
    close: () => conn.end(),
    exec: (options) =>
      new Promise<ExecResult>((resolve, reject) => {
        conn.exec(options.command, (err, channel) => {
          if (err) {
            reject(new VigilError('CODER_SSH_FAILED', `SSH to ${where}: could not start the script (${err.message})`));
            return;
          }
          collect(conn, channel, where, options).then(resolve, reject);
        });
      }),
  };
}

function collect(conn: ssh2.Client, channel: ClientChannel, where: string, options: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdout = capped(options.outputBytes);
    const stderr = capped(options.outputBytes);
    let exit: { code: number | null; signal?: string } | undefined;
    let timedOut = false;
    let settled = false;

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      if (!exit && !timedOut) {
        reject(
          new VigilError('CODER_SSH_LOST', `SSH to ${where}: the connection ended before the script reported an exit status`, {
            retryable: false,
            details: { scriptStarted: true },
          }),
        );
        return;
      }
      resolve({
        stdout: stdout.text(),
        stderr: stderr.text(),
        exitCode: timedOut ? null : (exit?.code ?? null),
        ...(exit?.signal && !timedOut ? { exitSignal: exit.signal } : {}),
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
      });
    };
    // Past the limit (or aborted): close the channel and drop the connection. No SSH `signal`
    // request: ssh2 sends none after stdin's EOF, and OpenSSH honours it only for privilege-
    // separated sessions. The command's own `timeout -s KILL` guard ends the process group, and
    // the workspace is deleted right after, which ends anything left.
    const stop = (): void => {
      if (settled || exit) return;
      timedOut = true;
      channel.close();
      conn.end();
    };
    const timer = setTimeout(stop, options.timeoutMs);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });

    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('exit', (code: number | null, signal?: string) => {
      exit = { code: typeof code === 'number' ? code : null, ...(signal ? { signal } : {}) };
    });
    channel.on('close', finish);
    conn.on('close', finish);
    channel.on('error', () => finish());
    channel.end(options.stdin);
  });
}

function capped(limit: number): { push(chunk: Buffer): void; text(): string; truncated: boolean } {
  const chunks: Buffer[] = [];
  let size = 0;
  const state = {
    truncated: false,
    push(chunk: Buffer) {
      if (size >= limit) {
        state.truncated = true;
        return;
      }
      const room = limit - size;
      if (chunk.length > room) state.truncated = true;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(kept);
      size += kept.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
  return state;
}
