import { readFile } from 'node:fs/promises';
import { cpus, freemem, totalmem, type as osType, release } from 'node:os';

/** One benchmark's outcome: raw figures plus ratios against the raw baseline of the same run. */
export interface BenchResult {
  name: string;
  /** Measured values, each with its unit in the key (e.g. `vigil_events_per_s`). */
  figures: Record<string, number>;
  /** Vigil relative to the raw infrastructure (1.0 = as fast as raw). */
  ratios: Record<string, number>;
  /** The goal each ratio is held to, where the issue states one. */
  goals: Record<string, number>;
  notes?: string[];
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchResult>;
}

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

export const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Runs `work(i)` for i in [0, count) with `concurrency` at once. */
export async function lanes(count: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Busy CPU time of the whole machine in ms, from /proc/stat (undefined where there is none). */
async function machineBusyMs(): Promise<number | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const fields = stat?.split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (!fields || fields.length < 5) return undefined;
  // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
  const busy = fields.reduce((sum, n, i) => (i === 3 || i === 4 ? sum : sum + n), 0);
  return (busy * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU spent between start and stop: by this process (where the engine runs in one process, its
 * cost) and by the whole machine (this process, the stores, the broker and every other process).
 */
export async function cpuMeter(): Promise<{ stop(): Promise<{ processMs: number; machineMs: number }> }> {
  const process0 = process.cpuUsage();
  const machine0 = await machineBusyMs();
  return {
    async stop() {
      const used = process.cpuUsage(process0);
      const machine1 = await machineBusyMs();
      return {
        processMs: (used.user + used.system) / 1000,
        machineMs: machine0 === undefined || machine1 === undefined ? NaN : machine1 - machine0,
      };
    },
  };
}
