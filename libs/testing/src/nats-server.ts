import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A nats-server process owned by one test, for what the shared server cannot show: a crash and
 * a restart on the same port and store. Needs the nats-server binary (NATS_SERVER_BIN, or
 * Debian's /usr/sbin/nats-server, which .ci/run installs).
 */
export interface OwnedNatsServer {
  readonly url: string;
  /** Kills the process (SIGKILL: a crash, no graceful shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same JetStream store. */
  restart(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `args` are extra nats-server flags, e.g. `['--user', 'u', '--pass', 'p']`. */
export async function startOwnedNatsServer(args: readonly string[] = []): Promise<OwnedNatsServer> {
  const bin = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
  if (!existsSync(bin)) {
    throw new Error(`this test runs its own nats-server, and ${bin} does not exist: apt-get install nats-server, or set NATS_SERVER_BIN`);
  }
  const port = await freePort();
  const store = await mkdtemp(join(tmpdir(), 'vigil-nats-'));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, ...args], { stdio: 'ignore' });
    await waitForPort(port);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    restart: start,
    async dispose() {
      await kill();
      await rm(store, { recursive: true, force: true });
    },
  };
}
