import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@vigil/testing';

/**
 * A real OpenSSH sshd on loopback standing in for the workspace's sshd: its own config, a host
 * key made by ssh-keygen, public-key authentication only, and `AuthorizedKeysFile` pointing at a
 * file the fake Coder writes the run's one-time key into (so only that key gets in).
 * It runs as the test's own user (root in CI: then it needs /run/sshd, its privilege-separation
 * directory, which the Debian package only creates under systemd).
 */
export interface TestSshd {
  host: string;
  port: number;
  user: string;
  /** `SHA256:…` of the host key, as the template would report it. */
  hostKeyFingerprint: string;
  authorizedKeysFile: string;
  /** sshd's own log (`-e`, LogLevel VERBOSE). */
  log(): string;
  stop(): Promise<void>;
}

export async function startTestSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vigil-test-host', '-f', hostKey]);
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(
    ' ',
  )[1]!;
  const authorizedKeysFile = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, '', { mode: 0o600 });
  const port = await freePort();
  const user = userInfo().username;
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'AuthenticationMethods publickey',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!output.includes('Server listening')) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start listening:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    hostKeyFingerprint,
    authorizedKeysFile,
    log: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const readAuthorizedKeys = (sshd: TestSshd): string => readFileSync(sshd.authorizedKeysFile, 'utf8');
