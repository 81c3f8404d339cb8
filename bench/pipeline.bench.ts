import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsBus, deleteNatsStreams } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { freeServicePorts, startEngine, startSplit, waitFor, type Engine } from '@vigil/engine';
import { createEvent, exampleData, type EventType, type VigilEvent } from '@vigil/events';
import { cpuMeter, lanes, round, type Benchmark } from './harness.js';

/**
 * Full pipeline throughput: many distinct alerts, each healed end to end (ingest → investigator →
 * memory → reasoner → gate → approver → baseline → executor → proof → RESOLVED), against each
 * stage alone in the same run. The target is harmless: every incident is on its own service of a
 * loopback server whose /health fails until the runbook's typed action (`http.request` to the
 * endpoint the catalog declares) is called. The runbook planner plans (no model).
 *
 * The HTTP probe alone is only a symptom (confidence 0.3, flagged), so the gate asks a human:
 * the benchmark approves each plan at once through the approver's API, as a person would.
 */

const INCIDENTS = Number(process.env.BENCH_PIPELINE_INCIDENTS ?? 600);
const ALERT_CONCURRENCY = 16;
/**
 * Incidents open at once in the pipeline run: the next alert is sent when one closes (a closed
 * loop), so the load stays the same from the first alert to the last one sent, and every stage
 * is busy the whole time. Enough to keep the slowest stage saturated.
 */
const IN_FLIGHT = Math.min(Number(process.env.BENCH_PIPELINE_IN_FLIGHT ?? 64), INCIDENTS);
const SERVICES = ['ingest', 'orchestrator', 'investigator', 'memory', 'reasoner', 'approver', 'executor', 'verifier'] as const;
type Service = (typeof SERVICES)[number];
const SCHEMAS: Partial<Record<Service, string>> = {
  orchestrator: 'ORCHESTRATOR_DB_SCHEMA',
  investigator: 'INVESTIGATOR_DB_SCHEMA',
  memory: 'MEMORY_DB_SCHEMA',
  approver: 'APPROVER_DB_SCHEMA',
  executor: 'EXECUTOR_DB_SCHEMA',
};

/** What each service is asked, what it answers, and how many commands one incident makes. */
interface Stage {
  service: Service;
  command: EventType;
  answer: EventType;
  perIncident: number;
  /** Other events the service consumed in the pipeline and needs first (replayed before the commands, timed with them). */
  before?: EventType[];
}

const STAGES: Stage[] = [
  { service: 'investigator', command: 'investigation.requested', answer: 'hypothesis.received', perIncident: 1 },
  { service: 'memory', command: 'context.requested', answer: 'context.retrieved', perIncident: 1 },
  { service: 'reasoner', command: 'remediation.requested', answer: 'remediation.proposed', perIncident: 1 },
  { service: 'approver', command: 'approval.requested', answer: 'approval.decided', perIncident: 1 },
  // The executor runs only the plan a human approved: it learns the approvals from the bus.
  {
    service: 'executor',
    command: 'execution.requested',
    answer: 'execution.completed',
    perIncident: 1,
    before: ['approval.requested', 'approval.decided'],
  },
  // A baseline and a proof per incident.
  { service: 'verifier', command: 'verification.requested', answer: 'verification.completed', perIncident: 2 },
];

const serviceName = (i: number): string => `bench-svc-${String(i).padStart(4, '0')}`;

/**
 * The harmless target: `/health/<service>` fails until `POST /fix/<service>`; `POST /reset` makes
 * every service fail again. It runs in its own process, as a service under repair does: in the
 * bench's process it would share the engine's event loop and CPU.
 */
const TARGET_SOURCE = `
import { createServer } from 'node:http';
const fixed = new Set();
const server = createServer((request, response) => {
  const [, kind, name = ''] = (request.url ?? '').split('/');
  if (kind === 'reset' && request.method === 'POST') fixed.clear();
  if (kind === 'fix' && request.method === 'POST') fixed.add(name);
  const ok = kind === 'fix' || kind === 'reset' || (kind === 'health' && fixed.has(name));
  response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write('listening ' + server.address().port + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

interface Target {
  url: string;
  /** Every service fails again. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', TARGET_SOURCE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bench target exited with ${code} before listening`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async reset() {
      const response = await fetch(`${url}/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`the bench target refused a reset: ${response.status}`);
      await response.body?.cancel();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const runbook = `---
id: bench-health-fix
title: Bench service health failing
services: []
alerts: [BenchHealthFailing]
symptoms: [health endpoint failing, health endpoint answered 503]
tags: [bench, http]
risk: MEDIUM
actions:
  - action: http.request
    params: { endpoint: fix }
    reasoning: The service's own admin hook resets it.
checks: []
---

# Bench service health failing

## Symptoms

The health endpoint answered 503.

## Fix

Call the service's fix endpoint.
`;

async function writeConfig(dir: string, targetUrl: string): Promise<Record<string, string>> {
  const services = Array.from({ length: INCIDENTS }, (_, i) => {
    const name = serviceName(i);
    return [
      `  ${name}:`,
      `    health: ${targetUrl}/health/${name}`,
      '    probes: [http]',
      `    checks: [{ kind: http, name: health, url: '${targetUrl}/health/${name}', expectStatus: 200 }]`,
      `    executor: { endpoints: { fix: { url: '${targetUrl}/fix/${name}', method: POST } } }`,
    ].join('\n');
  });
  await writeFile(join(dir, 'catalog.yaml'), `services:\n${services.join('\n')}\n`);
  await mkdir(join(dir, 'runbooks'), { recursive: true });
  await writeFile(join(dir, 'runbooks', 'bench-health-fix.md'), runbook);
  await writeFile(
    join(dir, 'policy.yaml'),
    'defaults:\n  autonomy: approve\n  thresholds: { escalateBelowConfidence: 0, autoRisks: [LOW, MEDIUM], maxAutoPerHour: 1000000 }\n',
  );
  return {
    VIGIL_SERVICE_CATALOG: join(dir, 'catalog.yaml'),
    VIGIL_POLICY_FILE: join(dir, 'policy.yaml'),
    MEMORY_RUNBOOKS_DIR: join(dir, 'runbooks'),
    // Three proof rounds 50 ms apart: a short soak, so that the engine's own work is what is measured.
    PROOF_ROUND_INTERVAL_MS: '50',
  };
}

interface Infra {
  label: string;
  env(tag: string): NodeJS.ProcessEnv;
  cleanup(tag: string): Promise<void>;
}

const embedded: Infra = { label: 'embedded', env: () => ({}), cleanup: async () => undefined };

function real(): Infra {
  const urls = {
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
  return {
    label: 'nats+postgres+redis',
    env: (tag) => ({
      ...urls,
      VIGIL_SUBJECT_PREFIX: tag,
      ...Object.fromEntries(Object.entries(SCHEMAS).map(([service, key]) => [key, `${tag}_${service}`])),
    }),
    async cleanup(tag) {
      const db = await createPostgresDb({ url: urls.DATABASE_URL, schema: 'public' });
      try {
        for (const service of Object.keys(SCHEMAS)) await db.exec(`DROP SCHEMA IF EXISTS ${tag}_${service} CASCADE`);
      } finally {
        await db.close();
      }
      await deleteNatsStreams({ url: urls.NATS_URL, prefix: tag });
    },
  };
}

async function boot(env: NodeJS.ProcessEnv, only?: readonly Service[]): Promise<Engine> {
  const ports = await freeServicePorts(SERVICES);
  // Concurrency settings (ORCHESTRATOR_CONCURRENCY, VERIFIER_CONCURRENCY, PROOF_CONCURRENCY, …) pass through, to try them.
  const tuning = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.endsWith('_CONCURRENCY')));
  return startEngine({ PATH: process.env.PATH, LOG_LEVEL: 'error', ...tuning, ...ports, ...env }, only);
}

/**
 * The same engine as `vigil up --split`: each service its own process (so the stages can use
 * both cores), the bench watching and approving over the same NATS.
 */
async function bootSplit(env: NodeJS.ProcessEnv): Promise<Engine> {
  const ports = await freeServicePorts();
  const tuning = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.endsWith('_CONCURRENCY')));
  const split = startSplit({ PATH: process.env.PATH, LOG_LEVEL: 'error', ...tuning, ...ports, ...env }, { output: 'pipe' });
  const urls = Object.fromEntries(SERVICES.map((s) => [s, `http://127.0.0.1:${ports[`${s.toUpperCase()}_PORT`]}`]));
  try {
    await waitFor(
      'every service ready',
      async () => {
        const ready = await Promise.all(
          Object.values(urls).map((url) =>
            fetch(`${url}/readyz`).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        return ready.every(Boolean) ? true : undefined;
      },
      180_000,
      500,
    );
  } catch (error) {
    const output = split.children.map((c) => `${c.name}: ${c.output().slice(-500)}`).join('\n');
    await split.stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  const bus = await createNatsBus({ url: env['NATS_URL'] ?? '', name: 'bench-pipeline', prefix: env['VIGIL_SUBJECT_PREFIX'] ?? '' });
  return {
    bus,
    urls,
    routingKey: split.routingKey,
    apiToken: split.apiToken,
    async stop() {
      await bus.close();
      await split.stop();
    },
  };
}

const local = (url: string | undefined): string => (url ?? '').replace('0.0.0.0', '127.0.0.1');

/** The human on the loop, instantly: approves every plan that waits, through the approver's API. */
async function approveAll(engine: Engine, signal: AbortSignal): Promise<void> {
  const approve = async (id: string): Promise<void> => {
    // The approver may not have recorded the request yet (it reads the same event): 404 until it has.
    for (let attempt = 0; attempt < 240 && !signal.aborted; attempt++) {
      const response = await fetch(`${local(engine.urls['approver'])}/approvals/${encodeURIComponent(id)}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${engine.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve', reason: 'bench', via: 'cli' }),
      });
      await response.body?.cancel();
      if (response.status !== 404) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  for await (const stored of engine.bus.read({
    types: ['approval.requested'],
    follow: true,
    signal,
    since: new Date(Date.now() - 60_000),
  })) {
    const id = stored.event.incidentId;
    if (id) void approve(id).catch(() => undefined);
  }
}

/** A run's rate two ways: over the whole run, and in its steady state. */
interface Rate {
  /** Everything over the whole run: the first incidents' fill and the last ones' drain included. */
  overall: number;
  /**
   * Once every stage is busy: from the 10% completion mark to the 90% one or, for the pipeline,
   * to the completion that let the last alert go (the load is the same until then).
   */
  steady: number;
}

/**
 * The rate between the 10% completion mark and `end` (default the 90% mark). A pipeline of many
 * stages takes seconds to fill and to drain (each incident passes every stage in turn), so a run
 * measured end to end counts that latency as much as the throughput; a stage alone fills at once.
 * The middle of the run is what each sustains.
 */
function steadyRate(arrivals: readonly number[], perIncident = 1, end?: number): number {
  const times = [...arrivals].sort((a, b) => a - b);
  const first = Math.floor(times.length * 0.1);
  const last = Math.min(end ?? Infinity, Math.ceil(times.length * 0.9) - 1);
  const spanS = ((times[last] ?? 0) - (times[first] ?? 0)) / 1000;
  return last > first && spanS > 0 ? (last - first) / spanS / perIncident : NaN;
}

/** Counts events of some types as they are published (its own durable consumer), until `count` arrived. */
async function counter(engine: Engine, durable: string, types: EventType[]) {
  const seen = new Map<string, VigilEvent>();
  /** When each new event arrived (performance.now()), in order. */
  const arrivals: number[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const handler = async (event: VigilEvent): Promise<void> => {
    if (!seen.has(event.id)) arrivals.push(performance.now());
    seen.set(event.id, event);
    for (const w of waiters.filter((w) => seen.size >= w.count)) w.resolve();
  };
  const subscription = await engine.bus.consume({
    durable,
    concurrency: 64,
    handlers: Object.fromEntries(types.map((t) => [t, handler])),
  });
  return {
    seen,
    arrivals,
    until: (count: number, timeoutMs: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (seen.size >= count) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`${durable}: ${seen.size} of ${count} ${types.join('/')} after ${timeoutMs / 1000}s`)),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    stop: () => subscription.stop(),
  };
}

interface PipelineRun {
  incidentsPerS: Rate;
  /** CPU per incident: the bench's process (the engine, unless split, and the bench's own client) and the whole machine. */
  cpuMsPerIncident: { process: number; machine: number };
  /** The bench process's event-loop delay during the run (the engine's, where it runs in one process). */
  loopDelayMs: { p50: number; p99: number };
  resolved: number;
  escalated: number;
  escalations: string[];
  /** Every command and answer of the run by type, to replay to a stage alone. */
  commands: Map<EventType, VigilEvent[]>;
  /** The last answer of each type: the orchestrator-alone run answers with these. */
  answers: Map<EventType, VigilEvent>;
}

async function runPipeline(
  infra: Infra,
  config: Record<string, string>,
  tag: string,
  start: (env: NodeJS.ProcessEnv) => Promise<Engine> = boot,
): Promise<PipelineRun> {
  const engine = await start({ ...config, ...infra.env(tag) });
  const abort = new AbortController();
  try {
    void approveAll(engine, abort.signal).catch(() => undefined);
    const outcomes = await counter(engine, 'bench-outcomes', ['incident.resolved', 'incident.escalated']);
    const ingest = local(engine.urls['ingest']);
    const cpu = await cpuMeter();
    // How long ready work waits for the event loop: in one process every stage shares it.
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const started = performance.now();
    await lanes(INCIDENTS, ALERT_CONCURRENCY, async (i) => {
      // A closed loop: at most IN_FLIGHT incidents open at once.
      if (i >= IN_FLIGHT) await outcomes.until(i - IN_FLIGHT + 1, 30 * 60_000);
      const service = serviceName(i);
      const response = await fetch(`${ingest}/v2/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          routing_key: engine.routingKey,
          event_action: 'trigger',
          dedup_key: `${tag}/${service}`,
          payload: {
            summary: `${service} health endpoint failing`,
            source: service,
            severity: 'critical',
            component: service,
            class: 'BenchHealthFailing',
          },
        }),
      });
      if (response.status !== 202) throw new Error(`alert ${i} refused: ${response.status} ${await response.text()}`);
    });
    await outcomes.until(INCIDENTS, 30 * 60_000);
    const elapsedS = (performance.now() - started) / 1000;
    const used = await cpu.stop();
    lag.disable();
    await outcomes.stop();
    const closing = [...outcomes.seen.values()];
    const escalations = closing
      .filter((e): e is VigilEvent<'incident.escalated'> => e.type === 'incident.escalated')
      .map((e) => `${e.data.reason}: ${e.data.message}`);
    const commands = new Map<EventType, VigilEvent[]>();
    const answers = new Map<EventType, VigilEvent>();
    const wanted = new Set<EventType>(STAGES.flatMap((s) => [s.command, s.answer, ...(s.before ?? [])]));
    for await (const stored of engine.bus.read({ types: [...wanted] })) {
      const type = stored.event.type;
      commands.set(type, [...(commands.get(type) ?? []), stored.event]);
      answers.set(type, stored.event);
    }
    return {
      // Steady until the completion that let the last alert go: after it the pipeline only drains.
      incidentsPerS: { overall: INCIDENTS / elapsedS, steady: steadyRate(outcomes.arrivals, 1, INCIDENTS - IN_FLIGHT) },
      cpuMsPerIncident: { process: used.processMs / INCIDENTS, machine: used.machineMs / INCIDENTS },
      loopDelayMs: { p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6 },
      resolved: closing.length - escalations.length,
      escalated: escalations.length,
      escalations,
      commands,
      answers,
    };
  } finally {
    abort.abort();
    await engine.stop();
    await infra.cleanup(tag);
  }
}

/** One stage alone: its engine holds only that service; the pipeline's commands arrive all at once. */
async function runStageAlone(
  infra: Infra,
  config: Record<string, string>,
  tag: string,
  stage: Stage,
  recorded: VigilEvent[],
  before: VigilEvent[],
): Promise<Rate> {
  const engine = await boot({ ...config, ...infra.env(tag) }, [stage.service]);
  const abort = new AbortController();
  try {
    if (stage.service === 'approver') void approveAll(engine, abort.signal).catch(() => undefined);
    const answers = await counter(engine, 'bench-answers', [stage.answer]);
    const again = (e: VigilEvent): VigilEvent =>
      createEvent(e.type, e.data as never, { source: 'bench', incidentId: e.incidentId }) as VigilEvent;
    const commands = recorded.map(again);
    const first = before.map(again);
    const started = performance.now();
    for (const event of first) await engine.bus.publish(event);
    await lanes(commands.length, 32, (i) => engine.bus.publish(commands[i] as VigilEvent));
    await answers.until(commands.length, 15 * 60_000);
    const elapsedS = (performance.now() - started) / 1000;
    await answers.stop();
    return { overall: commands.length / stage.perIncident / elapsedS, steady: steadyRate(answers.arrivals, stage.perIncident) };
  } finally {
    abort.abort();
    await engine.stop();
    await infra.cleanup(tag);
  }
}

/**
 * The orchestrator alone: every other stage answers at once, from the pipeline's own answers,
 * so only the saga (inbox, transition, timeline, outbox, relay) is measured.
 */
async function runOrchestratorAlone(infra: Infra, config: Record<string, string>, tag: string, pipeline: PipelineRun): Promise<Rate> {
  const engine = await boot({ ...config, ...infra.env(tag) }, ['orchestrator']);
  try {
    const template = (type: EventType): Record<string, unknown> => {
      const found = pipeline.answers.get(type);
      if (!found) throw new Error(`the pipeline produced no ${type} to answer with`);
      return found.data as Record<string, unknown>;
    };
    const reply = async (command: VigilEvent, type: EventType, data: Record<string, unknown>): Promise<void> => {
      await engine.bus.publish(
        createEvent(type, data as never, { source: 'bench', incidentId: command.incidentId, causedBy: command }) as VigilEvent,
      );
    };
    const responder = await engine.bus.consume({
      durable: 'bench-responder',
      concurrency: 64,
      handlers: {
        'investigation.requested': (e) => reply(e, 'hypothesis.received', template('hypothesis.received')),
        'context.requested': (e) => reply(e, 'context.retrieved', template('context.retrieved')),
        'remediation.requested': (e) => reply(e, 'remediation.proposed', template('remediation.proposed')),
        'approval.requested': (e) =>
          reply(e, 'approval.decided', { ...template('approval.decided'), planHash: e.data.planHash, decidedAt: new Date().toISOString() }),
        'verification.requested': (e) =>
          reply(e, 'verification.completed', { ...template('verification.completed'), mode: e.data.mode, passed: e.data.mode === 'proof' }),
        'execution.requested': (e) =>
          reply(e, 'execution.completed', { ...template('execution.completed'), executionId: e.data.executionId, stepId: e.data.step.id }),
      },
    });
    const outcomes = await counter(engine, 'bench-outcomes', ['incident.resolved', 'incident.escalated']);
    const triggered = Array.from({ length: INCIDENTS }, (_, i) => {
      const service = serviceName(i);
      return createEvent(
        'incident.triggered',
        {
          ...exampleData['incident.triggered'],
          dedupKey: `${tag}/${service}`,
          service,
          title: `${service} health endpoint failing`,
          alertName: 'BenchHealthFailing',
          labels: {},
          firedAt: new Date().toISOString(),
        },
        { source: 'bench' },
      ) as VigilEvent;
    });
    const started = performance.now();
    await lanes(triggered.length, 32, (i) => engine.bus.publish(triggered[i] as VigilEvent));
    await outcomes.until(INCIDENTS, 15 * 60_000);
    const elapsedS = (performance.now() - started) / 1000;
    const escalated = [...outcomes.seen.values()].filter((e) => e.type === 'incident.escalated').length;
    if (escalated > 0) throw new Error(`orchestrator alone: ${escalated} incidents escalated with instant answers`);
    await outcomes.stop();
    await responder.stop();
    return { overall: INCIDENTS / elapsedS, steady: steadyRate(outcomes.arrivals) };
  } finally {
    await engine.stop();
    await infra.cleanup(tag);
  }
}

async function measure(
  infra: Infra,
  config: Record<string, string>,
  target: Target,
): Promise<{ figures: Record<string, number>; ratio: number; slowestRate: number; notes: string[] }> {
  const tag = `pipe_${Date.now()}`;
  const key = infra.label === 'embedded' ? 'embedded' : 'real';
  process.stdout.write(`  ${infra.label}: ${INCIDENTS} incidents through the whole engine …\n`);
  const pipeline = await runPipeline(infra, config, tag);
  const notes: string[] = [];
  if (pipeline.escalated > 0) notes.push(`${key}: ${pipeline.escalated} escalated, e.g. ${pipeline.escalations[0]}`);
  const alone: Record<string, Rate> = {};
  // BENCH_PIPELINE_ALONE names the stages to measure alone (default: all; `none` for the pipeline only).
  const measured = process.env.BENCH_PIPELINE_ALONE?.split(',').map((s) => s.trim());
  for (const stage of STAGES.filter((s) => !measured || measured.includes(s.service))) {
    const recorded = pipeline.commands.get(stage.command) ?? [];
    if (recorded.length === 0) continue;
    process.stdout.write(`  ${infra.label}: ${stage.service} alone …\n`);
    // The investigator probes a failing service, as it did in the pipeline.
    if (stage.service === 'investigator') await target.reset();
    const before = (stage.before ?? []).flatMap((type) => pipeline.commands.get(type) ?? []);
    alone[stage.service] = await runStageAlone(infra, config, `${tag}_${stage.service}`, stage, recorded, before);
  }
  if (!measured || measured.includes('orchestrator')) {
    process.stdout.write(`  ${infra.label}: orchestrator alone …\n`);
    alone['orchestrator'] = await runOrchestratorAlone(infra, config, `${tag}_orch`, pipeline);
  }
  // Stages are compared, and the pipeline with them, by their steady rates.
  const [slowest, slowestRate] = Object.entries(alone)
    .map(([service, rate]): [string, number] => [service, rate.steady])
    .sort((a, b) => a[1] - b[1])[0] ?? ['none', NaN];
  notes.push(`${key}: slowest stage alone is ${slowest} (${round(slowestRate, 2)} incidents/s)`);
  const figures: Record<string, number> = {
    [`${key}_pipeline_incidents_per_s`]: round(pipeline.incidentsPerS.overall, 2),
    [`${key}_pipeline_steady_incidents_per_s`]: round(pipeline.incidentsPerS.steady, 2),
    [`${key}_engine_process_cpu_ms_per_incident`]: round(pipeline.cpuMsPerIncident.process, 1),
    [`${key}_machine_cpu_ms_per_incident`]: round(pipeline.cpuMsPerIncident.machine, 1),
    [`${key}_event_loop_delay_p50_ms`]: round(pipeline.loopDelayMs.p50, 1),
    [`${key}_event_loop_delay_p99_ms`]: round(pipeline.loopDelayMs.p99, 1),
    [`${key}_resolved`]: pipeline.resolved,
    [`${key}_escalated`]: pipeline.escalated,
  };
  for (const [service, rate] of Object.entries(alone)) {
    figures[`${key}_${service}_alone_incidents_per_s`] = round(rate.overall, 2);
    figures[`${key}_${service}_alone_steady_incidents_per_s`] = round(rate.steady, 2);
  }
  // If every stage's time alone were CPU time on the one event loop, the pipeline could do no
  // better than this: in one process the stages' costs add up instead of overlapping.
  const rates = Object.values(alone).map((r) => r.steady);
  if (rates.length > 0) figures[`${key}_sum_of_stage_costs_bound_incidents_per_s`] = round(1 / rates.reduce((sum, r) => sum + 1 / r, 0), 2);
  // The same comparison over whole runs, fill and drain included, for the record.
  if (rates.length > 0) {
    const overallSlowest = Math.min(...Object.values(alone).map((r) => r.overall));
    figures[`${key}_pipeline_vs_slowest_stage_overall`] = round(pipeline.incidentsPerS.overall / overallSlowest);
  }
  return { figures, ratio: round(pipeline.incidentsPerS.steady / slowestRate), slowestRate, notes };
}

export const pipelineBenchmark: Benchmark = {
  name: 'pipeline: incidents healed per second vs the slowest stage alone',
  async run() {
    const target = await startTarget();
    const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-pipeline-'));
    try {
      const which = (process.env.BENCH_PIPELINE_INFRA ?? 'embedded,real').split(',').map((s) => s.trim());
      const figures: Record<string, number> = { incidents: INCIDENTS, incidents_in_flight: IN_FLIGHT };
      const ratios: Record<string, number> = {};
      const goals: Record<string, number> = {};
      const notes: string[] = [
        'the gate asks a human for every plan (an HTTP symptom alone is a flagged, low-confidence hypothesis); the bench approves at once through the approver API',
        'proof: 3 rounds 50 ms apart; per-stage rates count a verifier incident as 2 verifications (baseline + proof)',
        `the pipeline runs as a closed loop of ${IN_FLIGHT} incidents in flight; rates compared are steady rates, from the 10% completion mark to the 90% one (the pipeline: to the completion that let the last alert go), since the pipeline takes seconds to fill and drain and a stage alone does not; *_overall figures are over whole runs`,
      ];
      for (const infra of [which.includes('embedded') ? embedded : undefined, which.includes('real') ? real() : undefined]) {
        if (!infra) continue;
        await target.reset();
        const config = await writeConfig(dir, target.url);
        const result = await measure(infra, config, target);
        Object.assign(figures, result.figures);
        const key = infra.label === 'embedded' ? 'embedded' : 'real';
        ratios[`${key}_pipeline_vs_slowest_stage`] = result.ratio;
        goals[`${key}_pipeline_vs_slowest_stage`] = 0.6;
        notes.push(...result.notes);
        if (key === 'real' && which.includes('split')) {
          // The same pipeline with each service its own process, against the same stages alone.
          process.stdout.write(`  split: ${INCIDENTS} incidents through vigil up --split …\n`);
          await target.reset();
          const split = await runPipeline(infra, config, `pipe_split_${Date.now()}`, bootSplit);
          figures['split_pipeline_incidents_per_s'] = round(split.incidentsPerS.overall, 2);
          figures['split_pipeline_steady_incidents_per_s'] = round(split.incidentsPerS.steady, 2);
          figures['split_resolved'] = split.resolved;
          figures['split_machine_cpu_ms_per_incident'] = round(split.cpuMsPerIncident.machine, 1);
          ratios['split_pipeline_vs_slowest_stage'] = round(split.incidentsPerS.steady / result.slowestRate);
          goals['split_pipeline_vs_slowest_stage'] = 0.6;
        }
      }
      return { name: this.name, figures, ratios, goals, notes };
    } finally {
      await target.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
