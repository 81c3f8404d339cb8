/** Where things are inside the sandbox. */
export const inside = {
  /** Read-only: the script, the forwarder and its config, the egress sockets. */
  run: '/run/vigil',
  script: '/run/vigil/script',
  forwarder: '/run/vigil/forwarder.mjs',
  egressConfig: '/run/vigil/egress.json',
  egressSocket: (name: string) => `/run/vigil/egress/${name}`,
  node: '/run/vigil-node',
  /** The script's private, writable working directory (a tmpfs that dies with the sandbox). */
  scratch: '/scratch',
} as const;

/** The sandbox's user and group: `nobody`, in a user namespace of its own. */
export const sandboxUid = 65534;

/** A top-level system path: bound read-only, or recreated as the same symlink (merged /usr). */
export type SystemPath = { path: string; symlinkTo?: string };

export interface SandboxPlan {
  /** Host directory whose `in/` becomes /run/vigil and whose `etc/` holds the minimal /etc files. */
  jobDir: string;
  systemPaths: readonly SystemPath[];
  env: readonly (readonly [string, string])[];
  /** Size of each private tmpfs (/scratch, /tmp, /dev/shm), bytes. */
  tmpfsBytes: number;
  /** The node binary for the egress forwarder; absent: no egress, no forwarder. */
  forwarderNode?: string;
  /**
   * The forwarder must bind a port below 1024: it gets CAP_NET_BIND_SERVICE (the script drops it
   * through setpriv). That needs the netns and the user namespace to be the same one, which
   * bubblewrap's --disable-userns (a second, nested user namespace) would break.
   */
  bindsLowPorts: boolean;
}

/** Host files shown read-only in the sandbox's /etc when present: the linker cache, alternatives, CA certificates, time zone. */
const hostEtc = ['/etc/ld.so.cache', '/etc/alternatives', '/etc/ssl', '/etc/ca-certificates', '/etc/localtime'];
const devices = ['null', 'zero', 'full', 'random', 'urandom'];

/**
 * bubblewrap's options, passed on a pipe with `--args` so that neither the host's `ps` nor the
 * sandbox's /proc/1/cmdline shows the declared environment. The command itself stays on the
 * command line (bubblewrap reads it only from there). Order matters: mounts first, `--remount-ro /` last.
 */
export function sandboxOptions(plan: SandboxPlan): string[] {
  const args = ['--unshare-all', '--unshare-user', '--uid', String(sandboxUid), '--gid', String(sandboxUid), '--hostname', 'vigil-sandbox'];
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');
  if (plan.bindsLowPorts) args.push('--cap-add', 'CAP_NET_BIND_SERVICE');
  else args.push('--disable-userns');
  args.push('--clearenv');
  for (const [name, value] of plan.env) args.push('--setenv', name, value);

  args.push('--ro-bind', '/usr', '/usr');
  for (const { path, symlinkTo } of plan.systemPaths) {
    if (symlinkTo !== undefined) args.push('--symlink', symlinkTo, path);
    else args.push('--ro-bind', path, path);
  }
  for (const file of ['passwd', 'group', 'hosts', 'nsswitch.conf']) args.push('--ro-bind', `${plan.jobDir}/etc/${file}`, `/etc/${file}`);
  for (const path of hostEtc) args.push('--ro-bind-try', path, path);

  args.push('--proc', '/proc');
  // No --dev: it needs a devpts mount, for which bubblewrap nests a second user namespace.
  args.push('--size', String(64 * 1024), '--tmpfs', '/dev');
  for (const device of devices) args.push('--dev-bind', `/dev/${device}`, `/dev/${device}`);
  args.push('--symlink', '/proc/self/fd', '/dev/fd');
  for (const [i, stream] of ['stdin', 'stdout', 'stderr'].entries()) args.push('--symlink', `/proc/self/fd/${i}`, `/dev/${stream}`);
  args.push('--size', String(plan.tmpfsBytes), '--tmpfs', '/dev/shm');

  args.push('--ro-bind', `${plan.jobDir}/in`, inside.run);
  if (plan.forwarderNode) args.push('--ro-bind', plan.forwarderNode, inside.node);
  args.push('--perms', '0700', '--size', String(plan.tmpfsBytes), '--tmpfs', inside.scratch);
  args.push('--perms', '1777', '--size', String(plan.tmpfsBytes), '--tmpfs', '/tmp');
  args.push('--remount-ro', '/', '--chdir', inside.scratch);
  return args;
}

/**
 * The first thing run inside: reports "built, starting" on fd 4 (the forwarder has already done
 * so when there is egress), closes every descriptor above stderr — bubblewrap passes on whatever
 * the executor inherited, and a stray descriptor to a host file or directory is a way out — then
 * execs the rest. bash, because sh cannot close descriptors above 9.
 */
export const launcher = (bash: string): string[] => [
  bash,
  '-c',
  '{ printf 1 >&4; } 2>/dev/null; for fd in /proc/$$/fd/*; do fd=${fd##*/}; if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done; exec "$@"',
  'vigil-launch',
];

export interface ScriptLimits {
  cpuSeconds: number;
  memoryBytes: number;
  processes: number;
  fileBytes: number;
}

/** `prlimit` sets the limits on itself, then execs the interpreter; SIGXCPU first, SIGKILL a second later. */
export const limitsPrefix = (prlimit: string, l: ScriptLimits): string[] => [
  prlimit,
  `--cpu=${l.cpuSeconds}:${l.cpuSeconds + 1}`,
  `--as=${l.memoryBytes}`,
  `--nproc=${l.processes}`,
  `--fsize=${l.fileBytes}`,
  '--core=0',
  '--',
];
