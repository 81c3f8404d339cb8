import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Child,
  createDemoDatabase,
  demoCatalog,
  type DemoDatabase,
  demoEngineEnv,
  demoPolicy,
  type DemoScenario,
  demoScenarios,
  type Engine,
  faultUrlFor,
  freeServicePorts,
  pageWhenUnhealthy,
  setConnectionLimit,
  startChild,
  startEngine,
  startPaymentApi,
  waitFor,
} from '@vigil/engine';
import { round, type Benchmark } from './harness.js';
import { stagesOf, WAITS, type Stage, type TimelineEntry } from './mttr-timeline.js';

/**
 * MTTR of each demo fault that Vigil is meant to heal, measured on the demo's own setup (a real
 * PostgreSQL for payment-api, the engine in this process, the demo's catalog and policy): from the
 * alert received to RESOLVED after proof, read from the incident's timeline. The engine's own share
 * is what is left once the action, the baseline and the proof (deliberate soak), and any wait for a
 * human are taken out: the part of MTTR that Vigil's own code can make shorter.
 */

/** The demo's faults Vigil must heal alone. */
const SCENARIOS: DemoScenario[] = Object.values(demoScenarios).filter((s) => s.expect === 'healed');

interface Outcome {
  scenario: string;
  outcome: string;
  mttrMs?: number;
  engineMs?: number;
  stages: Stage[];
  reason?: string;
}

async function runScenario(
  scenario: DemoScenario,
  engine: Engine,
  db: DemoDatabase,
  paymentUrl: string,
  log: (line: string) => void,
): Promise<Outcome> {
  if (scenario.databaseConnectionLimit !== undefined) await setConnectionLimit(db, scenario.databaseConnectionLimit);
  const chaos: Child = startChild(
    'apps/cli/src/main.ts',
    ['chaos', scenario.name, '--database-url', faultUrlFor(scenario, db), '--hold', '600', ...scenario.chaosArgs],
    { PATH: process.env.PATH, VIGIL_CHAOS_DIR: join(tmpdir(), `vigil-chaos-bench-${process.pid}`) },
  );
  const orchestrator = engine.urls['orchestrator']?.replace('0.0.0.0', '127.0.0.1') ?? '';
  const auth = { authorization: `Bearer ${engine.apiToken}` };
  try {
    const fault = await waitFor(`${scenario.name}: the fault`, async () => chaos.lines.find((l) => l['event'] === 'fault'), 60_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${chaos.output().slice(-1500)}`);
      },
    );
    log(`${scenario.name}: fault in place ${JSON.stringify(fault)}`);
    const dedupKey = `payment-api/${scenario.name}/${Date.now()}`;
    const sent = await pageWhenUnhealthy({
      service: 'payment-api',
      healthUrl: `${paymentUrl}/health`,
      ingestUrl: engine.urls['ingest']?.replace('0.0.0.0', '127.0.0.1') ?? '',
      routingKey: engine.routingKey,
      scenario,
      dedupKey,
    });
    if (sent !== 202) throw new Error(`${scenario.name}: the alert was refused (${sent})`);
    const closed = await waitFor(
      `${scenario.name}: the incident to close`,
      async () => {
        const list = (await (await fetch(`${orchestrator}/incidents?limit=50`, { headers: auth })).json()) as {
          incidents?: Array<{ id: string; stage: string; dedupKey?: string }>;
        };
        const found = (list.incidents ?? []).find((i) => i.dedupKey?.endsWith(`:${dedupKey}`));
        // Waiting for a person is where this measurement ends: the gate did not let Vigil act alone.
        return found && ['RESOLVED', 'ESCALATED', 'AWAITING_APPROVAL'].includes(found.stage) ? found : undefined;
      },
      300_000,
      500,
    ).catch(async (error: Error) => {
      const list = await (await fetch(`${orchestrator}/incidents?limit=50`, { headers: auth })).text().catch(String);
      throw new Error(`${error.message}; incidents: ${list.slice(0, 3000)}`);
    });
    const detail = (await (await fetch(`${orchestrator}/incidents/${closed.id}`, { headers: auth })).json()) as {
      timeline: TimelineEntry[];
    };
    const timeline = detail.timeline;
    const stages = stagesOf(timeline);
    const first = timeline[0];
    const last = timeline.findLast((e) => e.kind === 'stage');
    if (closed.stage === 'AWAITING_APPROVAL') {
      const asked = timeline.findLast((e) => e.kind === 'command' && e.eventType === 'approval.requested');
      const reasons = (asked?.data['reasons'] as string[] | undefined) ?? [];
      return {
        scenario: scenario.name,
        outcome: 'NEEDS APPROVAL (not healed alone)',
        stages,
        reason: `the gate asks a human: ${reasons.join('; ') || 'no reason recorded'}`,
      };
    }
    if (closed.stage !== 'RESOLVED') {
      const escalation = timeline.findLast((e) => e.kind === 'command' && e.eventType === 'incident.escalated');
      const reason = escalation
        ? `${String(escalation.data['reason'])}: ${String(escalation.data['message'])}`
        : (last?.summary ?? 'unknown');
      return { scenario: scenario.name, outcome: 'ESCALATED', stages, reason };
    }
    const mttrMs = first && last ? Date.parse(last.at) - Date.parse(first.at) : NaN;
    const waited = stages.filter((s) => WAITS.has(s.name)).reduce((sum, s) => sum + s.ms, 0);
    return { scenario: scenario.name, outcome: 'RESOLVED', mttrMs, engineMs: mttrMs - waited, stages };
  } finally {
    await chaos.stop();
    // The next scenario starts from a healthy service.
    if (scenario.databaseConnectionLimit !== undefined) await setConnectionLimit(db, -1).catch(() => undefined);
    await waitFor(
      'payment-api to recover',
      async () => ((await fetch(`${paymentUrl}/health`, { signal: AbortSignal.timeout(5_000) })).ok ? true : undefined),
      60_000,
    ).catch(() => log(`${scenario.name}: payment-api did not recover before the next scenario`));
  }
}

const seconds = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? '–' : (ms / 1000).toFixed(1));

function table(outcomes: Outcome[]): string {
  const lines: string[] = [];
  for (const o of outcomes) {
    lines.push(`\n${o.scenario}: ${o.outcome}${o.reason ? ` — ${o.reason}` : ''}`);
    if (o.mttrMs !== undefined && o.engineMs !== undefined) {
      lines.push(
        `  MTTR ${seconds(o.mttrMs)} s; engine's own share ${seconds(o.engineMs)} s (${Math.round((o.engineMs / o.mttrMs) * 100)}%)`,
      );
    }
    for (const s of o.stages) lines.push(`  ${s.name.padEnd(14)} ${seconds(s.ms).padStart(6)} s${WAITS.has(s.name) ? '  (wait)' : ''}`);
  }
  return lines.join('\n');
}

export const mttrBenchmark: Benchmark = {
  name: 'mttr: demo faults, alert to RESOLVED',
  async run() {
    const only = process.env.BENCH_MTTR_SCENARIOS?.split(',').map((s) => s.trim());
    const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
    const log = (line: string): void => void process.stdout.write(`  ${line}\n`);
    const adminUrl = process.env.VIGIL_DEMO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const db = await createDemoDatabase(adminUrl, `vigil_bench_mttr_${process.pid}`);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-mttr-'));
    const cleanups: Array<() => Promise<unknown>> = [() => db.drop(), () => rm(dir, { recursive: true, force: true })];
    try {
      const { payment, url: paymentUrl } = await startPaymentApi(db);
      cleanups.push(() => payment.stop());
      const browser = existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
      await writeFile(join(dir, 'catalog.yaml'), demoCatalog({ paymentUrl, database: db, browser }));
      await writeFile(join(dir, 'policy.yaml'), demoPolicy(false));
      const ports = await freeServicePorts();
      // Embedded defaults (in-process bus, PGlite, in-memory cache), as `npm run demo` runs.
      const engine = await startEngine({
        PATH: process.env.PATH,
        ...ports,
        LOG_LEVEL: 'error',
        VIGIL_SERVICE_CATALOG: join(dir, 'catalog.yaml'),
        VIGIL_POLICY_FILE: join(dir, 'policy.yaml'),
        ...demoEngineEnv,
      });
      cleanups.push(() => engine.stop());
      const outcomes: Outcome[] = [];
      for (const scenario of scenarios) {
        // One scenario that never ends is reported as such; the others still run.
        outcomes.push(
          await runScenario(scenario, engine, db, paymentUrl, log).catch((error: Error): Outcome => ({
            scenario: scenario.name,
            outcome: 'NO OUTCOME',
            stages: [],
            reason: error.message.slice(0, 600),
          })),
        );
      }
      process.stdout.write(`${table(outcomes)}\n\n`);
      const figures: Record<string, number> = {};
      const ratios: Record<string, number> = {};
      const notes: string[] = [`checks: /health${browser ? ' and the checkout journey in Chromium' : ' only (no Chromium)'}`];
      for (const o of outcomes) {
        const key = o.scenario.replaceAll('-', '_');
        if (o.mttrMs !== undefined && o.engineMs !== undefined) {
          figures[`${key}_mttr_s`] = round(o.mttrMs / 1000, 1);
          figures[`${key}_engine_s`] = round(o.engineMs / 1000, 2);
          ratios[`${key}_engine_share`] = round(o.engineMs / o.mttrMs);
        } else notes.push(`${o.scenario} is not healed alone: ${o.outcome}${o.reason ? ` (${o.reason})` : ''}`);
        for (const s of o.stages) figures[`${key}_${s.name}_s`] = round((figures[`${key}_${s.name}_s`] ?? 0) + s.ms / 1000, 2);
      }
      notes.push('engine share = MTTR − (baseline + action + proof + approval): the time Vigil itself spends between stages');
      return { name: this.name, figures, ratios, goals: {}, notes };
    } finally {
      for (const step of cleanups.reverse()) await step().catch(() => undefined);
    }
  },
};
