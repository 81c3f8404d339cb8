import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScriptRequest, ScriptResult, ScriptRunner } from './runner.js';
import { inside, launcher, limitsPrefix, sandboxOptions, sandboxUid, type SystemPath } from './local/bwrap-args.js';
import { egressHostnames, openEgressRelays, parseEgressTargets, type EgressRelays, type EgressTarget } from './local/egress.js';
import { forwarderSource } from './local/forwarder-source.js';
import { findExecutable, findPsql, isSystemPath, systemPaths } from './local/host.js';
import { requestProblem } from './local/request-checks.js';
import { spawnSandbox } from './local/spawn-sandbox.js';

export interface LocalSandboxOptions {
  /** Default: the first of /usr/bin/bwrap, /bin/bwrap, /usr/local/bin/bwrap. */
  bwrapPath?: string;
  /** Default /usr/bin/python3; python scripts are refused when it is missing. */
  pythonPath?: string;
  /** Default: the newest /usr/lib/postgresql/<v>/bin/psql, else /usr/bin/psql; sql scripts are refused without one. */
  psqlPath?: string;
  /**
   * The host user the sandbox runs as when the executor is root (default nobody, 65534; never 0:
   * root's processes are exempt from RLIMIT_NPROC, so a sandbox mapped onto root could fork without
   * end). An executor that is not root runs the sandbox as itself.
   */
  hostUser?: { uid: number; gid: number };
  /** Processes and threads the script may have at once (RLIMIT_NPROC in its own user namespace). Default 64. */
  maxProcesses?: number;
  /** Size of each private tmpfs (/scratch, /tmp, /dev/shm) and the largest file a script may write. Default 64 MiB. */
  tmpfsBytes?: number;
  /** Host directory for each run's short-lived files (script, egress sockets). Default the OS temp dir. */
  workDir?: string;
  /** The node binary that runs the in-sandbox egress forwarder. Default: this process's. */
  nodePath?: string;
}

/** What was found on the host; tools that run inside the sandbox are all under /usr or /bin. */
interface Host {
  bwrap: string;
  bash: string;
  prlimit: string;
  setpriv?: string;
  dropTo?: { setpriv: string; uid: number; gid: number };
  systemPaths: SystemPath[];
  interpreters: Partial<Record<ScriptRequest['language'], string>>;
}

type Availability = { ok: true } | { ok: false; reason: string };

const sandboxPath = '/usr/local/bin:/usr/bin:/bin';
/** Tasks the sandbox itself adds to the script's process budget: bubblewrap's pid 1, the launcher, the forwarder's threads. */
const helperTasks = { plain: 2, withForwarder: 16 };

const refused = (reason: string): ScriptResult => ({
  stdout: '',
  stderr: '',
  exitCode: null,
  truncated: false,
  timedOut: false,
  refused: reason,
});

/**
 * The embedded script sandbox: bubblewrap with a read-only system, a private tmpfs scratch dir and
 * /tmp, user `nobody` in fresh user/pid/ipc/uts/net/cgroup namespaces, no capabilities, only the
 * declared environment, rlimits for CPU, memory, processes and file size, a wall-clock kill, and a
 * loopback-only network where each declared egress target is relayed through a Unix socket. When
 * it cannot be built on this host every script is refused (fail closed). README "Local sandbox".
 */
export function createLocalSandbox(options: LocalSandboxOptions = {}): ScriptRunner {
  const tmpfsBytes = options.tmpfsBytes ?? 64 * 1024 * 1024;
  const maxProcesses = options.maxProcesses ?? 64;
  let ready: Promise<{ host: Host } | { reason: string }> | undefined;

  async function inspectHost(): Promise<Host | string> {
    const bwrap = await findExecutable(options.bwrapPath ? [options.bwrapPath] : ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap']);
    if (!bwrap) return `bubblewrap is not installed (${options.bwrapPath ?? 'bwrap'} not found; apt-get install bubblewrap)`;
    const bash = await findExecutable(['/bin/bash', '/usr/bin/bash']);
    if (!bash) return 'bash is not installed at /bin/bash; the sandbox launcher needs it';
    const prlimit = await findExecutable(['/usr/bin/prlimit', '/bin/prlimit']);
    if (!prlimit) return 'prlimit (util-linux) is not installed at /usr/bin/prlimit; the script limits cannot be set';
    const setpriv = await findExecutable(['/usr/bin/setpriv', '/bin/setpriv']);
    const isRoot = process.getuid?.() === 0;
    if (isRoot && !setpriv) {
      return 'the executor runs as root and setpriv (util-linux) is missing, so the sandbox cannot run as an unprivileged host user';
    }
    const user = options.hostUser ?? { uid: sandboxUid, gid: sandboxUid };
    if (isRoot && user.uid === 0) {
      return 'hostUser must not be root: root is exempt from the process limit, so a fork bomb would not be contained';
    }
    const python = await findExecutable([options.pythonPath ?? '/usr/bin/python3']);
    const psql = options.psqlPath ? await findExecutable([options.psqlPath]) : await findPsql();
    const interpreters: Host['interpreters'] = { sh: '/bin/sh', bash };
    if (python && isSystemPath(python)) interpreters.python = python;
    if (psql && isSystemPath(psql)) interpreters.sql = psql;
    return {
      bwrap,
      bash,
      prlimit,
      ...(setpriv ? { setpriv } : {}),
      ...(isRoot && setpriv ? { dropTo: { setpriv, ...user } } : {}),
      systemPaths: await systemPaths(),
      interpreters,
    };
  }

  /** Builds the sandbox once for real (`exit 0` through the whole path); only success is remembered. */
  async function probe(): Promise<{ host: Host } | { reason: string }> {
    const host = await inspectHost();
    if (typeof host === 'string') return { reason: host };
    const limits = { timeoutMs: 15_000, memoryBytes: 64 * 1024 * 1024, cpuSeconds: 5, outputBytes: 4096 };
    const probeRequest: ScriptRequest = {
      executionId: 'probe',
      incidentId: 'probe',
      service: 'probe',
      language: 'sh',
      code: 'exit 0\n',
      egress: [],
      env: {},
      limits,
    };
    const result = await execute(host, probeRequest, [], ['/bin/sh', inside.script]);
    if (result.refused) return { reason: `bubblewrap cannot build the sandbox here: ${result.refused}` };
    if (result.exitCode !== 0) return { reason: `the sandbox probe exited ${result.exitCode ?? 'by a signal'}: ${result.stderr.trim()}` };
    return { host };
  }

  async function hostReady(): Promise<{ host: Host } | { reason: string }> {
    ready ??= probe();
    const outcome = await ready;
    if ('reason' in outcome) ready = undefined;
    return outcome;
  }

  function interpreterFor(host: Host, request: ScriptRequest, targets: EgressTarget[]): string[] | { refused: string } {
    const path = host.interpreters[request.language];
    switch (request.language) {
      case 'sh':
      case 'bash':
        return path ? [path, inside.script] : { refused: `${request.language} is not installed on this host` };
      case 'python':
        if (path) return [path, '-I', '-B', inside.script];
        return {
          refused: `python3 is not installed at ${options.pythonPath ?? '/usr/bin/python3'} on this host; python scripts are refused`,
        };
      case 'sql':
        if (!path) return { refused: 'psql is not installed on this host; sql scripts are refused (use the typed postgres actions)' };
        if (targets.length === 0) {
          return { refused: 'a sql script must declare its database as an egress target (host:port); it has no network otherwise' };
        }
        return [path, '-X', '--no-password', '--set', 'ON_ERROR_STOP=1', '--file', inside.script];
    }
  }

  async function execute(host: Host, request: ScriptRequest, targets: EgressTarget[], interpreter: string[]): Promise<ScriptResult> {
    const bindsLowPorts = targets.some((t) => t.port < 1024);
    if (bindsLowPorts && !host.setpriv) {
      return refused('a target below port 1024 needs setpriv (util-linux) in the sandbox, and it is missing');
    }
    const env: [string, string][] = [['PATH', sandboxPath]];
    targets.forEach((t, i) => env.push([`VIGIL_EGRESS_${i}`, `127.0.0.1:${t.port}`]));
    if (request.language === 'sql' && targets[0]) env.push(['PGHOST', '127.0.0.1'], ['PGPORT', String(targets[0].port)]);
    env.push(...Object.entries(request.env));

    const limits = limitsPrefix(host.prlimit, {
      cpuSeconds: Math.ceil(request.limits.cpuSeconds),
      memoryBytes: Math.floor(request.limits.memoryBytes),
      processes: maxProcesses + (targets.length > 0 ? helperTasks.withForwarder : helperTasks.plain),
      fileBytes: tmpfsBytes,
    });
    const dropCaps = bindsLowPorts && host.setpriv ? [host.setpriv, '--inh-caps=-all', '--ambient-caps=-all', '--'] : [];
    const script = [...launcher(host.bash), ...dropCaps, ...limits, ...interpreter];
    const command = targets.length > 0 ? [inside.node, inside.forwarder, inside.egressConfig, ...script] : script;

    let jobDir: string | undefined;
    let relays: EgressRelays | undefined;
    try {
      jobDir = await mkdtemp(join(options.workDir ?? tmpdir(), 'vigil-sandbox-'));
      await writeJobFiles(jobDir, request.code, targets, host.dropTo);
      if (targets.length > 0) relays = await openEgressRelays(targets, join(jobDir, 'in', 'egress'), host.dropTo);
      const sandbox = sandboxOptions({
        jobDir,
        systemPaths: host.systemPaths,
        env,
        tmpfsBytes,
        bindsLowPorts,
        ...(targets.length > 0 ? { forwarderNode: options.nodePath ?? process.execPath } : {}),
      });
      const result = await spawnSandbox({
        bwrap: host.bwrap,
        ...(host.dropTo ? { dropTo: host.dropTo } : {}),
        options: sandbox,
        command,
        timeoutMs: request.limits.timeoutMs,
        outputBytes: Math.floor(request.limits.outputBytes),
        ...(request.signal ? { signal: request.signal } : {}),
      });
      if (!result.started && !result.timedOut && !result.aborted) {
        return refused(
          `the sandbox could not be built: ${result.stderr.trim() || `bubblewrap exited ${result.exitCode ?? 'by a signal'}`}`,
        );
      }
      const { stdout, stderr, exitCode, truncated, timedOut } = result;
      return { stdout, stderr, exitCode, truncated, timedOut };
    } catch (error) {
      return refused(`the sandbox could not be prepared: ${(error as Error).message}`);
    } finally {
      await relays?.close();
      if (jobDir) await rm(jobDir, { recursive: true, force: true });
    }
  }

  return {
    name: 'local',
    async available(): Promise<Availability> {
      const outcome = await hostReady();
      return 'reason' in outcome ? { ok: false, reason: outcome.reason } : { ok: true };
    },
    async run(request) {
      const outcome = await hostReady();
      if ('reason' in outcome) return refused(`the local sandbox is unavailable: ${outcome.reason}`);
      if (request.signal?.aborted) return refused('the run was cancelled before it started');
      const problem = requestProblem(request);
      if (problem) return refused(problem);
      const egress = parseEgressTargets(request.egress);
      if ('error' in egress) return refused(egress.error);
      const interpreter = interpreterFor(outcome.host, request, egress.targets);
      if ('refused' in interpreter) return refused(interpreter.refused);
      return execute(outcome.host, request, egress.targets, interpreter);
    },
  };
}

/**
 * The run's host files: `in/` (the script, the forwarder, its config, the egress sockets; shown
 * read-only at /run/vigil) and `etc/` (a minimal passwd, group, hosts and nsswitch.conf). When the
 * sandbox runs as another host user, that user owns them; nobody else can read them (0700 dir).
 */
async function writeJobFiles(jobDir: string, code: string, targets: EgressTarget[], owner?: { uid: number; gid: number }): Promise<void> {
  const hosts = ['127.0.0.1 localhost vigil-sandbox', ...egressHostnames(targets).map((h) => `127.0.0.1 ${h}`), '::1 localhost', ''].join(
    '\n',
  );
  const files: [string, string][] = [
    ['in/script', code],
    ['etc/passwd', 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'],
    ['etc/group', 'root:x:0:\nnogroup:x:65534:\n'],
    ['etc/hosts', hosts],
    // Names resolve from /etc/hosts only: there is no DNS server to ask inside.
    ['etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\n'],
  ];
  if (targets.length > 0) {
    files.push(['in/forwarder.mjs', forwarderSource]);
    files.push(['in/egress.json', JSON.stringify(targets.map((t, i) => ({ port: t.port, socket: inside.egressSocket(`${i}.sock`) })))]);
  }
  const dirs = ['in', 'etc', ...(targets.length > 0 ? ['in/egress'] : [])];
  for (const dir of dirs) await mkdir(join(jobDir, dir), { mode: 0o700 });
  for (const [path, text] of files) await writeFile(join(jobDir, path), text, { mode: 0o400 });
  if (owner) for (const path of ['', ...dirs, ...files.map(([p]) => p)]) await chown(join(jobDir, path), owner.uid, owner.gid);
}
