/**
 * The sandbox's half of the egress path, run by node inside the sandbox (written to a read-only
 * file there, never built into a command line). It listens on 127.0.0.1:<port> for each declared
 * target and relays every connection to that target's Unix socket, which the executor relays to
 * the real host:port. Once every port listens it reports on fd 4 and starts the rest of its argv
 * (the launcher, then setpriv when it holds CAP_NET_BIND_SERVICE, so the script never does, then
 * the limits and the script) with plain stdio, and exits with the script's status.
 */
export const forwarderSource = String.raw`
import { spawn } from 'node:child_process';
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';

const [configPath, ...command] = process.argv.slice(2);
const targets = JSON.parse(readFileSync(configPath, 'utf8'));

function relay(inside, socketPath) {
  const outside = connect({ path: socketPath, allowHalfOpen: true });
  const drop = () => { inside.destroy(); outside.destroy(); };
  inside.on('error', drop);
  outside.on('error', drop);
  inside.pipe(outside);
  outside.pipe(inside);
}

try {
  await Promise.all(targets.map(({ port, socket }) => new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true }, (inside) => relay(inside, socket));
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  })));
} catch (error) {
  process.stderr.write('vigil sandbox: the egress forwarder could not listen: ' + error.message + '\n');
  process.exit(125);
}

writeSync(4, '1');
closeSync(4);

const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
child.on('error', (error) => {
  process.stderr.write('vigil sandbox: could not start the script: ' + error.message + '\n');
  process.exit(126);
});
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
`;
