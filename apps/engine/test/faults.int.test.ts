import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TimelineEntry } from '@vigil/audit';
import { createNatsBus, deleteNatsStreams, type Bus, type StoredEvent } from '@vigil/bus';
import type { EventType, VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, natsUrl, redisUrl, uniqueName } from '@vigil/testing';
import {
  createDemoDatabase,
  demoCatalog,
  freeServicePorts,
  demoEngineEnv,
  demoPolicy,
  injectFault,
  pageWhenUnhealthy,
  repoRoot,
  startChild,
  type Child,
  type DemoDatabase,
} from '../src/demo-setup.js';
import { startSplit, type Split, type SplitChild } from '../src/split.js';

/**
 * Proof under faults: the demo's row lock, healed by Vigil running as one OS process per service
 * on real NATS, PostgreSQL and Redis, while one service chosen at random is SIGKILLed at a random
 * moment of the incident and restarted with the same environment. Then three copies of the
 * executor and of the investigator on the same durable consumers, with three incidents at once.
 * Each time: the incident resolves, the fix reached the target exactly once (counted in the
 * target database itself), and the timeline has every stage in order with its hash chain intact.
 *
 * The victim and the moment come from a seed printed at the start; VIGIL_FAULTS_SEED=<n> replays
 * a run (VIGIL_FAULTS_VICTIM, VIGIL_FAULTS_MOMENT and VIGIL_FAULTS_DELAY_MS pin one part of it).
 */

const seed = Number(process.env.VIGIL_FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** mulberry32: small, seedable, good enough to pick a victim and a moment. */
const random = (() => {
  let state = seed >>> 0;
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
})();
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const serviceNames = ['orchestrator', 'memory', 'investigator', 'reasoner', 'executor', 'verifier', 'approver', 'ingest'] as const;
/** Moments of the incident a kill can follow: the page itself, then each step of the flow as it appears on the bus. */
const moments = [
  'page',
  'incident.triggered',
  'investigation.requested',
  'hypothesis.received',
  'context.requested',
  'context.retrieved',
  'remediation.requested',
  'remediation.proposed',
  'verification.requested:baseline',
  'verification.completed:baseline',
  'execution.requested',
  'execution.completed',
  'verification.requested:proof',
] as const;
type Moment = (typeof moments)[number];

/** The stages every healed demo incident passes, in this order, each once. */
const healedStages = [
  'TRIGGERED',
  'INVESTIGATING',
  'HYPOTHESIS_RECEIVED',
  'CONTEXT_RETRIEVED',
  'SYNTHESIZING',
  'EXECUTING (baseline)',
  'EXECUTING (running)',
  'VERIFYING',
  'RESOLVED',
];

interface Target {
  service: string;
  database: DemoDatabase;
  payment: Child;
  url: string;
}

const cleanups: Array<() => Promise<unknown>> = [];
let split: Split;
let bus: Bus;
let ports: Record<string, string>;
let schemas: Record<string, string>;
let admin: string;
const targets: Target[] = [];
const seen: StoredEvent[] = [];
const abort = new AbortController();

const local = (port: string | number): string => `http://127.0.0.1:${port}`;
const dbName = (label: string): string =>
  uniqueName(label)
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');

afterAll(async () => {
  abort.abort();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** On failure, what each service process said last: the evidence to debug a replay with. */
function dumpOutputs(): void {
  for (const child of split?.children ?? []) {
    const text = child.output().trim();
    if (text) process.stderr.write(`\n----- ${child.name} (pid ${child.child.pid}) -----\n${text.slice(-6_000)}\n`);
  }
}

/**
 * Counts at the target: every pg_terminate_backend the executor's role calls in this database goes
 * through a wrapper that records it, ahead of pg_catalog's on that role's search_path. The
 * executor's SQL is unchanged; the database itself keeps the tally.
 */
async function countTerminations(database: DemoDatabase): Promise<void> {
  const client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
  try {
    const name = new URL(database.adminUrl).pathname.slice(1);
    await client.query(`
      CREATE SCHEMA vigil_count;
      CREATE TABLE vigil_count.terminations (at timestamptz NOT NULL DEFAULT clock_timestamp(), pid int NOT NULL, by_role text NOT NULL, done boolean);
      GRANT USAGE ON SCHEMA vigil_count TO vigil_operator;
      GRANT INSERT ON vigil_count.terminations TO vigil_operator;
      CREATE FUNCTION vigil_count.pg_terminate_backend(pid integer, timeout bigint DEFAULT 0) RETURNS boolean
        LANGUAGE plpgsql AS $$
        DECLARE done boolean;
        BEGIN
          done := pg_catalog.pg_terminate_backend(pid, timeout);
          INSERT INTO vigil_count.terminations (pid, by_role, done) VALUES (pid, current_user, done);
          RETURN done;
        END $$;
      ALTER ROLE vigil_operator IN DATABASE ${name} SET search_path = vigil_count, pg_catalog, public;
    `);
  } finally {
    await client.end();
  }
}

async function terminationsIn(database: DemoDatabase): Promise<Array<{ pid: number; by_role: string; done: boolean }>> {
  const client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
  try {
    return (await client.query<{ pid: number; by_role: string; done: boolean }>('SELECT pid, by_role, done FROM vigil_count.terminations'))
      .rows;
  } finally {
    await client.end();
  }
}

async function ready(port: string, what: string): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${local(port)}/readyz`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    { timeoutMs: 150_000, intervalMs: 250, message: `${what} on port ${port} ready` },
  );
}

const stepOf = (stored: StoredEvent): string => {
  const event = stored.event;
  if (event.type === 'verification.requested' || event.type === 'verification.completed') return `${event.type}:${event.data.mode}`;
  return event.type;
};

const eventsOf = <T extends EventType>(incidentId: string, type: T): Array<VigilEvent<T>> =>
  seen.filter((s) => s.event.incidentId === incidentId && s.event.type === type).map((s) => s.event as VigilEvent<T>);

/** The incident a page for `service` opened: the investigation the saga asked for it. */
const incidentFor = (service: string): Promise<string> =>
  eventually(
    () => {
      const found = seen.find((s) => s.event.type === 'investigation.requested' && s.event.data.service === service);
      return found?.event.incidentId ?? undefined;
    },
    { timeoutMs: 150_000, intervalMs: 250, message: `an incident for ${service}` },
  );

/** How the incident ended — or that it stopped to wait for a human, which these runs must never need. */
const outcomeOf = (incidentId: string): Promise<VigilEvent<'incident.resolved' | 'incident.escalated' | 'approval.requested'>> =>
  eventually(
    () =>
      seen.find(
        (s) =>
          s.event.incidentId === incidentId &&
          (s.event.type === 'incident.resolved' || s.event.type === 'incident.escalated' || s.event.type === 'approval.requested'),
      )?.event as VigilEvent<'incident.resolved' | 'incident.escalated' | 'approval.requested'> | undefined,
    { timeoutMs: 170_000, intervalMs: 250, message: `incident ${incidentId} to resolve or escalate` },
  );

/** `vigil incidents verify <id>`, the CLI a person would run, against the orchestrator. */
function verifyWithCli(incidentId: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@vigil/source', '--import', 'tsx', 'apps/cli/src/main.ts', 'incidents', 'verify', incidentId],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, ORCHESTRATOR_URL: local(ports.ORCHESTRATOR_PORT ?? ''), VIGIL_API_TOKEN: split.apiToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * Everything that says the fix ran exactly once and the record has no gap, for one incident:
 * the target's own tally, the executor's executions table, the events on the bus, and the
 * orchestrator's timeline (stages in order, each once; hash chain intact; the CLI agrees).
 */
async function expectHealedOnce(target: Target, incidentId: string, blockerPid: number): Promise<void> {
  const outcome = await outcomeOf(incidentId);
  expect(outcome.type, JSON.stringify(outcome.data)).toBe('incident.resolved');

  // At the target: one pg_terminate_backend, of the blocker, by the executor's role, and it worked.
  expect(await terminationsIn(target.database)).toEqual([{ pid: blockerPid, by_role: 'vigil_operator', done: true }]);
  expect((await fetch(`${target.url}/health`)).status).toBe(200);

  // In the executor's own record: one execution of the step, settled once.
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    const { rows } = await client.query<{ mode: string; status: string }>(
      `SELECT mode, status FROM ${schemas.EXECUTOR_DB_SCHEMA}.executions WHERE incident_id = $1 ORDER BY started_at`,
      [incidentId],
    );
    expect(rows).toEqual([{ mode: 'run', status: 'succeeded' }]);
  } finally {
    await client.end();
  }

  // On the bus: one execution asked for, one answered (a redelivered answer carries the same id).
  const requested = new Set(eventsOf(incidentId, 'execution.requested').map((e) => e.data.executionId));
  const completed = eventsOf(incidentId, 'execution.completed');
  expect(requested.size).toBe(1);
  expect(new Set(completed.map((e) => e.data.executionId))).toEqual(requested);
  expect(new Set(completed.map((e) => e.id)).size).toBe(1);
  expect(completed.every((e) => e.data.status === 'succeeded')).toBe(true);
  expect(new Set(eventsOf(incidentId, 'incident.resolved').map((e) => e.id)).size).toBe(1);

  // The record: every stage, in order, each once; the chain intact, here and by the CLI.
  const response = await fetch(`${local(ports.ORCHESTRATOR_PORT ?? '')}/incidents/${incidentId}`, {
    headers: { authorization: `Bearer ${split.apiToken}` },
  });
  const record = (await response.json()) as {
    incident: { stage: string };
    timeline: TimelineEntry[];
    chain: { valid: boolean; entries: number };
  };
  expect(record.incident.stage).toBe('RESOLVED');
  expect(record.timeline.filter((e) => e.kind === 'stage').map((e) => e.summary)).toEqual(healedStages);
  expect(record.timeline.map((e) => e.seq)).toEqual(record.timeline.map((_, i) => record.timeline[0]!.seq + i));
  expect(record.chain).toMatchObject({ valid: true, entries: record.timeline.length });
  const verified = await verifyWithCli(incidentId);
  expect(verified.output).toMatch(/^intact: \d+ entries/m);
  expect(verified.code).toBe(0);
}

beforeAll(async () => {
  process.stdout.write(`faults: seed ${seed} (replay with VIGIL_FAULTS_SEED=${seed})\n`);
  const nats = await natsUrl();
  admin = await databaseUrl();
  const prefix = uniqueName('faults');
  schemas = Object.fromEntries(
    ['ORCHESTRATOR', 'MEMORY', 'INVESTIGATOR', 'EXECUTOR', 'APPROVER'].map((s) => [`${s}_DB_SCHEMA`, dbName(`faults_${s}`)]),
  );
  ports = await freeServicePorts(serviceNames);
  cleanups.push(() => deleteNatsStreams({ url: nats, prefix }));
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    for (const schema of Object.values(schemas)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  // Four payment services, each on its own database: one for the kill, three for the copies.
  const dir = await mkdtemp(join(tmpdir(), 'vigil-faults-'));
  const names = ['payment-api', 'payment-api-b', 'payment-api-c', 'payment-api-d'];
  for (const service of names) {
    const database = await createDemoDatabase(admin, dbName('faults_pay'));
    cleanups.push(() => database.drop());
    await countTerminations(database);
    const port = await freePort();
    const payment = startChild('examples/payment-api/src/main.ts', [], {
      PATH: process.env.PATH,
      PAYMENT_API_PORT: String(port),
      PAYMENT_API_HOST: '127.0.0.1',
      PAYMENT_DATABASE_URL: database.appUrl,
      LOG_LEVEL: 'warn',
    });
    cleanups.push(() => payment.stop());
    targets.push({ service, database, payment, url: local(port) });
  }
  const catalog = join(dir, 'catalog.yaml');
  const policy = join(dir, 'policy.yaml');
  // One catalog and one policy for the four: the demo's, once per service.
  const merged = (texts: string[]): string => `services:\n${texts.map((t) => t.replace(/^services:\n/, '')).join('')}`;
  await writeFile(
    catalog,
    merged(targets.map((t) => demoCatalog({ paymentUrl: t.url, database: t.database, browser: false, service: t.service }))),
  );
  await writeFile(policy, merged(names.map((service) => demoPolicy(false, service))));

  split = startSplit(
    {
      PATH: process.env.PATH,
      NATS_URL: nats,
      DATABASE_URL: admin,
      REDIS_URL: await redisUrl(),
      VIGIL_SUBJECT_PREFIX: prefix,
      LOG_LEVEL: 'info',
      VIGIL_SERVICE_CATALOG: catalog,
      VIGIL_POLICY_FILE: policy,
      ...demoEngineEnv,
      // A probe of a locked /health gives up sooner: the baseline fails in seconds, not tens of them.
      VERIFIER_HTTP_TIMEOUT_MS: '4000',
      // No scripts in this plan; no sandbox to look for.
      EXECUTOR_SANDBOX: 'none',
      // An executor killed mid-step leaves a claim the sweeper settles after the step's timeout
      // plus this: shorter than the default minute, so a run that lands there still ends soon.
      EXECUTOR_UNKNOWN_AFTER_MS: '10000',
      ...schemas,
      ...ports,
    },
    { output: 'pipe' },
  );
  cleanups.push(() => split.stop());
  await Promise.all([
    ...Object.entries(ports).map(([name, port]) => ready(port, name)),
    ...targets.map((t) =>
      eventually(async () => ((await fetch(`${t.url}/health`).catch(() => undefined))?.ok ? true : undefined), {
        timeoutMs: 150_000,
        intervalMs: 250,
        message: `${t.service} healthy`,
      }),
    ),
  ]).catch((error: unknown) => {
    dumpOutputs();
    throw error;
  });

  bus = await createNatsBus({ url: nats, name: 'faults-test', prefix, streams: 'existing' });
  cleanups.push(() => bus.close());
  void (async () => {
    for await (const stored of bus.read({ follow: true, signal: abort.signal })) seen.push(stored);
  })().catch(() => undefined);
}, 240_000);

it('heals the row lock once, with no gap in the record, while a random service is SIGKILLed and restarted', async () => {
  const target = targets[0]!;
  const victimName = (process.env.VIGIL_FAULTS_VICTIM as (typeof serviceNames)[number] | undefined) ?? pick(serviceNames);
  const moment = (process.env.VIGIL_FAULTS_MOMENT as Moment | undefined) ?? pick(moments);
  const delayMs = Number(process.env.VIGIL_FAULTS_DELAY_MS ?? Math.floor(random() * 1_500));
  process.stdout.write(`faults: SIGKILL ${victimName} ${delayMs} ms after ${moment} (seed ${seed})\n`);
  const victim = split.children.find((c) => c.name === victimName) as SplitChild;

  let restarted: Promise<void> | undefined;
  let killed = false;
  const killAndRestart = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, delayMs));
    const exited = new Promise((r) => victim.child.once('exit', r));
    victim.child.kill('SIGKILL');
    await exited;
    killed = true;
    process.stdout.write(`faults: ${victimName} (pid ${victim.child.pid}) killed; restarting it\n`);
    const next = split.restart(victim);
    await ready(ports[`${victimName.toUpperCase()}_PORT`] ?? '', `${victimName} after its restart`);
    process.stdout.write(`faults: ${victimName} is back (pid ${next.child.pid})\n`);
  };

  try {
    const { chaos, fault } = await injectFault('pg-lock', target.database.appUrl);
    cleanups.push(() => chaos.stop());
    const blockerPid = Number(fault.blocker_pid);
    // Only this incident runs now: the first event of the chosen kind from here on is its moment.
    const from = seen.length;
    if (moment === 'page') restarted = killAndRestart();
    else {
      void eventually(() => seen.slice(from).some((s) => stepOf(s) === moment), { timeoutMs: 200_000, intervalMs: 20 }).then(
        () => (restarted = killAndRestart()),
        () => undefined,
      );
    }
    const status = await pageWhenUnhealthy({
      service: target.service,
      healthUrl: `${target.url}/health`,
      ingestUrl: local(ports.INGEST_PORT ?? ''),
      routingKey: split.routingKey,
    });
    expect(status).toBe(202);
    const incident = await incidentFor(target.service);
    await outcomeOf(incident);
    // Every moment comes before the outcome: the kill happened; the victim is back before judging.
    await eventually(() => killed, { timeoutMs: 30_000, message: `the kill of ${victimName} after ${moment}` });
    await restarted;
    for (const done of eventsOf(incident, 'execution.completed')) process.stdout.write(`faults: the step: ${done.data.summary}\n`);
    await expectHealedOnce(target, incident, blockerPid);
    expect(await collect(bus.deadLetters())).toEqual([]);
  } catch (error) {
    dumpOutputs();
    throw error;
  }
}, 240_000);

it('three copies of the executor and the investigator on the same durable consumers heal three incidents once each, one executor copy lost', async () => {
  for (const name of ['executor', 'investigator']) {
    for (let copy = 2; copy <= 3; copy += 1) {
      const port = String(await freePort());
      split.add(name, { [`${name.toUpperCase()}_PORT`]: port });
      await ready(port, `${name} copy ${copy}`);
    }
  }
  const running = (name: string) =>
    split.children.filter((c) => c.name === name && c.child.exitCode === null && c.child.signalCode === null);
  expect(running('executor')).toHaveLength(3);
  expect(running('investigator')).toHaveLength(3);
  // One executor copy is lost for good just as the first fix is asked for: whatever it had
  // claimed, the other copies finish (its claim is settled from the target once it expires).
  const lost = pick(running('executor'));
  const lostAfterMs = Math.floor(random() * 300);
  process.stdout.write(
    `faults: SIGKILL executor pid ${lost.child.pid} ${lostAfterMs} ms after the first execution.requested, no restart (seed ${seed})\n`,
  );
  let isLost = false;
  const from = seen.length;
  void eventually(() => seen.slice(from).some((s) => s.event.type === 'execution.requested'), { timeoutMs: 200_000, intervalMs: 20 }).then(
    async () => {
      await new Promise((r) => setTimeout(r, lostAfterMs));
      lost.child.kill('SIGKILL');
      isLost = true;
    },
    () => undefined,
  );

  try {
    const many = targets.slice(1);
    const faults = await Promise.all(many.map((t) => injectFault('pg-lock', t.database.appUrl)));
    for (const { chaos } of faults) cleanups.push(() => chaos.stop());
    const statuses = await Promise.all(
      many.map((t) =>
        pageWhenUnhealthy({
          service: t.service,
          healthUrl: `${t.url}/health`,
          ingestUrl: local(ports.INGEST_PORT ?? ''),
          routingKey: split.routingKey,
        }),
      ),
    );
    expect(statuses).toEqual([202, 202, 202]);
    const incidents = await Promise.all(many.map((t) => incidentFor(t.service)));
    expect(new Set(incidents).size).toBe(3);
    await Promise.all(incidents.map((id) => outcomeOf(id)));
    expect(isLost).toBe(true);
    for (const [i, target] of many.entries()) {
      const incidentId = incidents[i] as string;
      await expectHealedOnce(target, incidentId, Number(faults[i]?.fault.blocker_pid));
      // One hypothesis per incident, whichever copy of the investigator answered.
      expect(new Set(eventsOf(incidentId, 'hypothesis.received').map((e) => e.id)).size).toBe(1);
    }
    // Which copy did what (information, not an assertion: JetStream decides who pulls first).
    for (const name of ['executor', 'investigator']) {
      const copies = split.children.filter((c) => c.name === name);
      const share = copies.map((c) => incidents.filter((id) => c.output().includes(id)).length);
      process.stdout.write(
        `faults: ${name} copies (pids ${copies.map((c) => c.child.pid).join(', ')}) saw ${share.join(' / ')} incidents\n`,
      );
    }
    expect(await collect(bus.deadLetters())).toEqual([]);
  } catch (error) {
    dumpOutputs();
    throw error;
  }
}, 240_000);
