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
