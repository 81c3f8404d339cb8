import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busBenchmark } from './bus.bench.js';
import { ingestBenchmark } from './ingest.bench.js';
import { mttrBenchmark } from './mttr.bench.js';
import { pipelineBenchmark } from './pipeline.bench.js';
import { retrievalLatencyBenchmark, retrievalRecallBenchmark } from './retrieval.bench.js';
import { sagaBenchmark } from './saga.bench.js';
import { stormBenchmark } from './storm.bench.js';
import { verifierBenchmark } from './verifier.bench.js';
import { machine, type Benchmark, type BenchResult } from './harness.js';

/** Every benchmark, in order. Add new ones here. */
const benchmarks: Benchmark[] = [
  busBenchmark,
  ingestBenchmark,
  sagaBenchmark,
  stormBenchmark,
  retrievalRecallBenchmark,
  retrievalLatencyBenchmark,
  verifierBenchmark,
  mttrBenchmark,
  pipelineBenchmark,
];

const here = dirname(fileURLToPath(import.meta.url));

async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const pkg of ['@nats-io/jetstream', '@nats-io/transport-node', 'zod']) {
    const json = JSON.parse(await readFile(join(here, '..', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string };
    out[pkg] = json.version;
  }
  return out;
}

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const bench of benchmarks.filter((b) => only.length === 0 || only.some((o) => b.name.includes(o)))) {
  process.stdout.write(`running ${bench.name} …\n`);
  results.push(await bench.run());
}

const rows: string[][] = [['benchmark', 'measure', 'value', 'goal']];
for (const r of results) {
  for (const [key, value] of Object.entries(r.figures)) rows.push([r.name, key, String(value), '']);
  for (const [key, value] of Object.entries(r.ratios)) {
    const goal = r.goals[key];
    const verdict = goal === undefined ? '' : `≥ ${goal} ${value >= goal ? 'met' : 'NOT met'}`;
    rows.push([r.name, `ratio ${key}`, String(value), verdict]);
  }
}
const widths = rows.reduce((w, row) => row.map((cell, i) => Math.max(cell.length, w[i] ?? 0)), [] as number[]);
for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`);
for (const r of results) for (const note of r.notes ?? []) process.stdout.write(`note (${r.name}): ${note}\n`);

const report = { at: new Date().toISOString(), machine: machine(), versions: await versions(), results };
await mkdir(join(here, 'results'), { recursive: true });
await writeFile(join(here, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`wrote bench/results/latest.json\n`);
