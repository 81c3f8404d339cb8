import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './process.js';
import { eventually } from './wait.js';

export type ChaosLine = Record<string, unknown> & { event: string };

export interface ChaosRun {
  readonly lines: ChaosLine[];
  /** The first line of this event (waits for it; fails at once if the process has exited without it). */
  line(event: string): Promise<ChaosLine>;
  exited: Promise<{ code: number | null; stderr: string }>;
  /** SIGTERM (the fault is released) unless it has exited already; waits for the exit. */
  stop(): Promise<void>;
}

/** The real `vigil chaos`, as a user runs it: bin/vigil.js, JSON lines on stdout. */
export function startChaos(args: string[], env: Record<string, string>): ChaosRun {
  const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/bin/vigil.js'), 'chaos', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChaosLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
      lines.push(JSON.parse(buffer.slice(0, end)) as ChaosLine);
      buffer = buffer.slice(end + 1);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stderr })),
  );
  return {
    lines,
    exited,
    async line(event) {
      const find = (): ChaosLine | undefined => lines.find((l) => l.event === event);
      const gone = exited.then(
        ({ code }) => find() ?? Promise.reject(new Error(`vigil chaos exited (${code}) without a "${event}" line: ${stderr}`)),
      );
      return Promise.race([eventually(find, { timeoutMs: 60_000, message: `no "${event}" line from vigil chaos` }), gone]);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
