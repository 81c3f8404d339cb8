import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VigilError } from '@vigil/errors';
import { localLinks, runSecrets, services } from './engine.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** One OS process of one service. */
export interface SplitChild {
  name: string;
  child: ChildProcess;
  /** The variables this process started with beyond the shared ones (e.g. its own port). */
  env: NodeJS.ProcessEnv;
  /** What it printed, with `output: 'pipe'` (empty with 'inherit'). The last 256 KiB. */
  output(): string;
}

export interface SplitOptions {
  /** 'inherit' (the default, `vigil up --split`): children write to this terminal; 'pipe': each keeps its own output. */
  output?: 'inherit' | 'pipe';
}

export interface Split {
  /** The running processes; a restarted or added process takes its place here. */
  children: SplitChild[];
  routingKey: string;
  apiToken: string;
  /**
   * Starts one more copy of a service; copies share the service's durable consumers. `env` is
   * laid over the shared environment: a copy on the same host needs its own port.
   */
  add(name: string, env?: NodeJS.ProcessEnv): SplitChild;
  /** Starts a new process in place of one that ended (a crash, a kill), with the same environment. */
  restart(previous: SplitChild): SplitChild;
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 256 * 1024;

/**
 * Each service as its own OS process on real NATS, PostgreSQL and Redis: the docker-compose
 * topology without Docker. Every child gets the same environment; each reads its own variables.
 */
export function startSplit(env: NodeJS.ProcessEnv, options: SplitOptions = {}): Split {
  const missing = ['NATS_URL', 'DATABASE_URL', 'REDIS_URL'].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new VigilError(
      'CONFIG_INVALID',
      `--split runs each service as its own process on shared infrastructure: set ${missing.join(', ')}`,
      {
        retryable: false,
      },
    );
  }
  const { routingKey, apiToken, env: secrets } = runSecrets(env);
  const links = localLinks(env);
  const launch = (name: string, own: NodeJS.ProcessEnv): SplitChild => {
    if (!services.some((definition) => definition.name === name)) {
      throw new VigilError('CONFIG_INVALID', `no service named ${name} (known: ${services.map((s) => s.name).join(', ')})`, {
        retryable: false,
      });
    }
    const child = spawn(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', `apps/${name}/src/main.ts`], {
      cwd: root,
      env: { ...env, ...secrets, ...links, ...own },
      stdio: options.output === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    const keep = (data: Buffer): void => {
      output += data.toString();
      if (output.length > OUTPUT_KEEP * 2) output = output.slice(-OUTPUT_KEEP);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return { name, child, env: own, output: () => output.slice(-OUTPUT_KEEP) };
  };
  const children = services.map((definition) => launch(definition.name, {}));
  const ended = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    children,
    routingKey,
    apiToken,
    add(name, own = {}) {
      const added = launch(name, own);
      children.push(added);
      return added;
    },
    restart(previous) {
      const index = children.indexOf(previous);
      if (index < 0)
        throw new VigilError('CONFIG_INVALID', `${previous.name} (pid ${previous.child.pid}) is not one of this split's processes`);
      if (!ended(previous.child)) {
        throw new VigilError(
          'CONFIG_INVALID',
          `${previous.name} (pid ${previous.child.pid}) is still running: stop it before restarting it`,
        );
      }
      const next = launch(previous.name, previous.env);
      children[index] = next;
      return next;
    },
    stop: () =>
      Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              // A child already killed (by a signal) has no exit code, only a signal code.
              if (ended(child)) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              // A process that does not stop within its grace is ended: stop() always returns.
              setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      ).then(() => undefined),
  };
}
