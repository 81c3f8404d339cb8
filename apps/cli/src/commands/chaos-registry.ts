import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Running `vigil chaos` processes on this machine, one small file each, so that `vigil chaos stop`
 * can ask them to release their fault (SIGTERM) — it cannot always reach the database itself:
 * under pool-exhaustion the app role has no free connection left.
 */
export interface ChaosProcess {
  pid: number;
  scenario: string;
  startedAt: string;
}

const directory = (): string => process.env['VIGIL_CHAOS_DIR'] ?? join(tmpdir(), 'vigil-chaos');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerChaosProcess(scenario: string): () => void {
  const file = join(directory(), `${process.pid}.json`);
  mkdirSync(directory(), { recursive: true });
  writeFileSync(file, JSON.stringify({ pid: process.pid, scenario, startedAt: new Date().toISOString() } satisfies ChaosProcess));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A file left by a killed run may name a pid the system has given to another program since.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chaos');
  } catch {
    return true; // no /proc here: trust the file
  }
}

/** The live chaos processes (of one scenario, when given); files of dead ones are removed. */
export function listChaosProcesses(scenario?: string): ChaosProcess[] {
  let names: string[];
  try {
    names = readdirSync(directory()).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  const live: ChaosProcess[] = [];
  for (const name of names) {
    const file = join(directory(), name);
    let entry: ChaosProcess;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as ChaosProcess;
    } catch {
      continue; // being written right now
    }
    if (!isAlive(entry.pid)) rmSync(file, { force: true });
    else if (scenario === undefined || entry.scenario === scenario) live.push(entry);
  }
  return live;
}

/** SIGTERM, then wait (up to `timeoutMs`) for the process to release its fault and exit. */
export async function stopChaosProcess(entry: ChaosProcess, timeoutMs = 15_000): Promise<boolean> {
  try {
    process.kill(entry.pid, 'SIGTERM');
  } catch {
    return true; // already gone
  }
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (!isAlive(entry.pid)) return true;
    await sleep(100);
  }
  return false;
}
