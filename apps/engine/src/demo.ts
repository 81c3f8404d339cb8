import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VigilEvent } from '@vigil/events';
import { startEngine, type Engine } from './engine.js';
import {
  createDemoDatabase,
  demoCatalog,
  type DemoDatabase,
  demoEngineEnv,
  demoPolicy,
  type DemoScenario,
  demoScenarios,
  faultUrlFor,
  freeServicePorts,
  injectFault,
  pageWhenUnhealthy,
  setConnectionLimit,
  startChild,
  startPaymentApi,
  waitFor,
} from './demo-setup.js';

/**
 * `npm run demo`: the whole loop on a real fault. The engine and a small payment service start;
 * a transaction grabs the row lock every checkout needs; a synthetic monitor sees /health fail
 * and pages Vigil through the PagerDuty Events API; the incident moves through every stage, live;
 * the blocker is ended, the fix is proven, and the timeline and MTTR are printed. Exit 0 when
 * healed, non-zero with the reason when not.
 */

interface DemoOptions {
  scenario: string;
  approve: boolean;
  timeoutMs: number;
  adminUrl: string;
}

const started = Date.now();
const clock = (): string => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
const say = (stage: string, text: string): void => void process.stdout.write(`${clock()} ${stage.padEnd(19)} ${text}\n`);

function parseArgs(args: string[]): DemoOptions {
  const options: DemoOptions = {
    scenario: 'pg-lock',
    approve: false,
    timeoutMs: 240_000,
    adminUrl: process.env.VIGIL_DEMO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === '--approve') options.approve = true;
    else if (arg === '--scenario') options.scenario = args[++i] ?? '';
    else if (arg === '--timeout') options.timeoutMs = Number(args[++i]) * 1000;
    else
      throw new Error(
        `unknown option ${arg}: npm run demo -- [--scenario ${Object.keys(demoScenarios).join('|')}] [--approve] [--timeout SECONDS]`,
      );
  }
  if (!Object.hasOwn(demoScenarios, options.scenario)) {
    const known = Object.values(demoScenarios).map((s) => `${s.name} (${s.expect === 'healed' ? 'healed' : 'Vigil must escalate'})`);
    throw new Error(`--scenario must be one of ${known.join(', ')} (got "${options.scenario}")`);
  }
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new Error('--timeout must be a number of seconds');
  return options;
}

function describe(event: VigilEvent): [string, string] | undefined {
  switch (event.type) {
    case 'incident.triggered':
      return ['TRIGGERED', `alert from ${event.data.source}: ${event.data.title}`];
    case 'investigation.requested':
      return ['INVESTIGATING', `probing ${event.data.service} (Postgres, HTTP) read-only`];
    case 'hypothesis.received':
      return [
        'HYPOTHESIS_RECEIVED',
        `${event.data.hypothesis.rootCause} (confidence ${event.data.hypothesis.confidence}${event.data.hypothesis.flags.length ? `; ${event.data.hypothesis.flags.join(', ')}` : ''})`,
      ];
    case 'context.retrieved': {
      const best = event.data.matches[0];
      return [
        'CONTEXT_RETRIEVED',
        best
          ? `${best.citation.kind} ${best.citation.documentId}${best.citation.section ? ` § ${best.citation.section}` : ''} (match ${best.score.toFixed(2)})`
          : 'no runbook matched',
      ];
    }
    case 'remediation.requested':
      return ['SYNTHESIZING', 'planning the fix (runbook planner: no model configured)'];
    case 'remediation.proposed':
      return event.data.outcome === 'plan'
        ? [
            '',
            `plan: ${event.data.plan.steps.map((s) => (s.kind === 'action' ? `${s.action} ${JSON.stringify(s.params)}` : `${s.language} script`)).join('; ')} — confidence ${event.data.plan.confidence}, risk ${event.data.plan.risk}`,
          ]
        : ['', `no plan: ${event.data.reason}`];
    case 'approval.requested':
      return ['AWAITING_APPROVAL', `a human must approve: ${event.data.reasons.join('; ')}`];
    case 'approval.decided':
      return ['', `${event.data.decision} by ${event.data.decidedBy.map((p) => p.name ?? p.id).join(', ')} via ${event.data.via}`];
    case 'verification.requested':
      return event.data.mode === 'baseline'
        ? ['EXECUTING', 'baseline: is the failure real before anything changes?']
        : ['VERIFYING', `proving the fix: ${event.data.consecutivePasses} consecutive passing rounds`];
    case 'verification.completed':
      return [
        '',
        `${event.data.mode}: ${event.data.passed ? 'passing' : 'failing'} (pass ratio ${event.data.passRatio}, p95 ${Math.round(event.data.latencyMs.p95)}ms)`,
      ];
    case 'execution.requested':
      return [
        'EXECUTING',
        event.data.step.kind === 'action'
          ? `${event.data.step.action} ${JSON.stringify(event.data.step.params)}`
          : `${event.data.step.language} script`,
      ];
    case 'execution.completed':
      return ['', `${event.data.status}: ${event.data.summary}`];
    case 'incident.resolved':
      return ['RESOLVED', `${event.data.how}; MTTR ${(event.data.mttrMs / 1000).toFixed(1)}s`];
    case 'incident.escalated':
      return ['ESCALATED', `${event.data.reason}: ${event.data.message}`];
    default:
      return undefined;
  }
}

async function main(options: DemoOptions): Promise<number> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
  });
  try {
    say('setup', `PostgreSQL for the payment service at ${new URL(options.adminUrl).host}`);
    let database: DemoDatabase;
    try {
      database = await createDemoDatabase(options.adminUrl, process.env.VIGIL_DEMO_DATABASE_NAME ?? 'vigil_demo');
    } catch (error) {
      throw new Error(`the demo needs a PostgreSQL it can administer (set VIGIL_DEMO_DATABASE_URL): ${(error as Error).message}`);
    }
    cleanups.push(() => database.drop());

    const { payment, url: paymentUrl } = await startPaymentApi(database);
    cleanups.push(() => payment.stop());
    say('setup', `payment-api on ${paymentUrl} is healthy`);

    const dir = await mkdtemp(join(tmpdir(), 'vigil-demo-'));
    const catalog = join(dir, 'catalog.yaml');
    const browser = existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
    await writeFile(catalog, demoCatalog({ paymentUrl, database, browser }));
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, demoPolicy(options.approve));
    say(
      'setup',
      options.approve
        ? 'policy: a human approves every fix on payment-api'
        : 'policy: payment-api may be fixed without a human above 0.75 confidence and 0.75 runbook match, LOW risk only',
    );
    const ports = await freeServicePorts();
    const engine: Engine = await startEngine({
      ...process.env,
      ...ports,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
      VIGIL_SERVICE_CATALOG: catalog,
      VIGIL_POLICY_FILE: policy,
      ...demoEngineEnv,
    });
    cleanups.push(() => engine.stop());
    say('setup', `Vigil is up: ${Object.keys(engine.urls).join(', ')}`);

    // The human on the loop: `vigil approve ID`, as the person this run's token names.
    const approve = (id: string): void => {
      say('human', `vigil approve ${id}`);
      const cli = startChild('apps/cli/src/main.ts', ['approve', id, '--reason', 'demo: checked the plan'], {
        PATH: process.env.PATH,
        VIGIL_APPROVER_URL: engine.urls['approver']?.replace('0.0.0.0', '127.0.0.1'),
        VIGIL_API_TOKEN: engine.apiToken,
      });
      cli.process.once('exit', (code) => code !== 0 && say('human', `vigil approve failed: ${cli.output().trim()}`));
    };

    // Follow the incident live, from the bus.
    const abort = new AbortController();
    cleanups.push(async () => abort.abort());
    let incidentId: string | undefined;
    let outcome: VigilEvent<'incident.resolved'> | VigilEvent<'incident.escalated'> | undefined;
    void (async () => {
      for await (const stored of engine.bus.read({ follow: true, signal: abort.signal, since: new Date(started) })) {
        const event = stored.event;
        if (event.type === 'investigation.requested' && event.data.service === 'payment-api') incidentId ??= event.incidentId ?? undefined;
        if (event.incidentId !== null && event.incidentId !== incidentId) continue;
        const line = describe(event);
        if (line) say(line[0], line[1]);
        if (event.type === 'incident.resolved' || event.type === 'incident.escalated') outcome = event;
        if (event.type === 'approval.requested' && event.incidentId) {
          if (options.approve) approve(event.incidentId);
          else
            say(
              'human',
              `waiting for a person: vigil approve ${event.incidentId} (VIGIL_API_TOKEN=${engine.apiToken} VIGIL_APPROVER_URL=${engine.urls['approver']?.replace('0.0.0.0', '127.0.0.1') ?? ''})`,
            );
        }
      }
    })().catch(() => undefined);

    // The fault: real sessions, as the app's own role — or, for superuser-lock, as a superuser:
    // the one session the executor must refuse to touch.
    const scenario = demoScenarios[options.scenario] as DemoScenario;
    if (scenario.databaseConnectionLimit !== undefined) {
      await setConnectionLimit(database, scenario.databaseConnectionLimit);
      say('setup', `the demo database's CONNECTION LIMIT is ${scenario.databaseConnectionLimit}: the fault takes every slot`);
    }
    const { chaos, fault } = await injectFault(scenario.name, faultUrlFor(scenario, database));
    cleanups.push(() => chaos.stop());
    say('chaos', `${scenario.name}: ${JSON.stringify(fault)}`);

    // The synthetic monitor: three failed /health calls in a row page Vigil (or, for a fault
    // /health does not show, a rule on the database's activity does).
    if (scenario.page.on === 'rule') {
      say(
        'monitor',
        `/health stays green under ${scenario.name}; the ${scenario.alertClass} rule fires in ${scenario.page.afterMs / 1000}s`,
      );
    }
    const enqueued = await pageWhenUnhealthy({
      service: 'payment-api',
      healthUrl: `${paymentUrl}/health`,
      ingestUrl: engine.urls['ingest']?.replace('0.0.0.0', '127.0.0.1') ?? '',
      routingKey: engine.routingKey,
      scenario,
    });
    say(
      'monitor',
      `${scenario.page.on === 'health' ? '/health failed 3 times in a row' : `${scenario.alertClass} fired`} → paged Vigil (Events API v2: ${enqueued})`,
    );

    await waitFor('the incident to end', async () => (outcome || interrupted ? true : undefined), options.timeoutMs, 250);
    if (interrupted) return 130;
    if (scenario.expect === 'escalated') {
      // The right outcome here is a human: Vigil must not end a superuser's session.
      if (outcome?.type === 'incident.escalated') {
        say('result', `escalated, as it must be: ${outcome.data.reason} — ${outcome.data.message}`);
        return 0;
      }
      say('result', `expected an escalation, got ${outcome?.type ?? 'no outcome'}`);
      return 1;
    }
    if (!outcome || outcome.type === 'incident.escalated') {
      say(
        'result',
        `not healed: ${outcome?.type === 'incident.escalated' ? `${outcome.data.reason} — ${outcome.data.message}` : 'no outcome'}`,
      );
      return 1;
    }
    const health = await fetch(`${paymentUrl}/health`);
    say('result', `healed: payment-api /health ${health.status}; MTTR ${(outcome.data.mttrMs / 1000).toFixed(1)}s`);
    if (incidentId) {
      const incident = (await (
        await fetch(`${engine.urls['orchestrator']?.replace('0.0.0.0', '127.0.0.1')}/incidents/${incidentId}`, {
          headers: { authorization: `Bearer ${engine.apiToken}` },
        })
      ).json()) as {
        timeline?: Array<{ at?: string; kind: string; summary: string }>;
      };
      process.stdout.write('\ntimeline:\n');
      for (const entry of incident.timeline ?? []) process.stdout.write(`  ${entry.at ?? ''} ${entry.kind.padEnd(8)} ${entry.summary}\n`);
    }
    return health.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
}

let options: DemoOptions;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
main(options).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
