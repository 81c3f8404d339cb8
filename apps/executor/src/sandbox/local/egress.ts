import { chmod, chown } from 'node:fs/promises';
import { connect, createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/** A declared `host:port` the script may reach; inside the sandbox it is `127.0.0.1:<port>`. */
export interface EgressTarget {
  host: string;
  port: number;
}

const hostname = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Reads the step's `host:port` list (IPv6 as `[addr]:port`). Each target is presented inside the
 * sandbox on loopback with the same port, so two targets may not share a port.
 */
export function parseEgressTargets(specs: readonly string[]): { targets: EgressTarget[] } | { error: string } {
  const targets: EgressTarget[] = [];
  for (const spec of specs) {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec);
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (!match || !host || !(port >= 1 && port <= 65_535)) return { error: `egress target "${spec}" is not host:port (port 1-65535)` };
    if (match[1] !== undefined ? !isIPv6(host) : !hostname.test(host)) return { error: `egress target "${spec}" has an invalid host` };
    const clash = targets.find((t) => t.port === port);
    if (clash && clash.host === host) continue;
    if (clash)
      return {
        error: `egress targets ${clash.host}:${port} and ${spec} share port ${port}; each target is presented on 127.0.0.1:<port> inside the sandbox`,
      };
    targets.push({ host, port });
  }
  return { targets };
}

/** Host names (not addresses) of the targets, for the sandbox's /etc/hosts to point at loopback. */
export const egressHostnames = (targets: readonly EgressTarget[]): string[] => [
  ...new Set(targets.map((t) => t.host).filter((h) => isIP(h) === 0)),
];

export interface EgressRelays {
  /** Socket file names in the relay directory, one per target, in target order. */
  readonly sockets: string[];
  close(): Promise<void>;
}

/**
 * The executor's half of the egress path: one Unix socket per target in `dir` (bound into the
 * sandbox); each connection on it is relayed to that declared host:port and nowhere else. The
 * sandbox's own network namespace has only loopback, so this is its only way out.
 */
export async function openEgressRelays(
  targets: readonly EgressTarget[],
  dir: string,
  owner?: { uid: number; gid: number },
): Promise<EgressRelays> {
  const servers: Server[] = [];
  const open = new Set<Socket>();
  const sockets = targets.map((_, i) => `${i}.sock`);
  const close = async () => {
    for (const socket of open) socket.destroy();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  };
  try {
    for (const [i, target] of targets.entries()) {
      const server = createServer({ allowHalfOpen: true }, (inside) => relay(inside, target, open));
      servers.push(server);
      const path = join(dir, sockets[i] as string);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      // Only the sandbox's host user may connect (it is this process's user unless we run as root).
      if (owner) await chown(path, owner.uid, owner.gid);
      await chmod(path, 0o600);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { sockets, close };
}

function relay(inside: Socket, target: EgressTarget, open: Set<Socket>): void {
  const outside = connect({ host: target.host, port: target.port, allowHalfOpen: true });
  for (const socket of [inside, outside]) {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    // A failed connection closes the other side too; the script sees a reset, as it would directly.
    socket.on('error', () => {
      inside.destroy();
      outside.destroy();
    });
  }
  inside.pipe(outside);
  outside.pipe(inside);
}
