import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { services } from './engine.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` distinct free ports. Every listener stays open until all are chosen: ports picked one
 * by one and released at once could come back twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** A distinct free port for each `<NAME>_PORT` given (default: every service's), so engines (the demo, tests, benches) run side by side. */
export async function freeServicePorts(names: readonly string[] = services.map((s) => s.name)): Promise<Record<string, string>> {
  const ports = await freePorts(names.length);
  return Object.fromEntries(names.map((name, i) => [`${name.toUpperCase()}_PORT`, String(ports[i])]));
}

export interface DemoDatabase {
  /** As the payment service's own role (the app, and the faults made as the app). */
  appUrl: string;
  /** As the investigator's read-only role (pg_monitor). */
  probeUrl: string;
  /** As the executor's role (pg_signal_backend, pg_read_all_stats — never superuser). */
  operatorUrl: string;
  /** As the administrator (a superuser): only for the fault Vigil must refuse to touch. */
  adminUrl: string;
  drop(): Promise<void>;
}

const as = (base: URL, user: string, database: string): string => {
  const url = new URL(base);
  url.username = user;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
};

/** The demo's roles: the payment service's own, the investigator's (read-only) and the executor's. */
export interface DemoRoles {
  app: string;
  probe: string;
  operator: string;
}

export const demoRoles: DemoRoles = { app: 'payment_app', probe: 'vigil_probe', operator: 'vigil_operator' };

/**
 * A database for the demo on a real PostgreSQL (row locks need real sessions), with the three
 * least-privilege roles a real deployment would have (created when missing, kept afterwards).
 */
export async function createDemoDatabase(adminUrl: string, name = 'vigil_demo', roles: DemoRoles = demoRoles): Promise<DemoDatabase> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    // Roles are cluster-wide and "create if missing" is not atomic: demos and tests that start side
    // by side take turns (one transaction under an advisory lock), or two would create the same role.
    await admin.query('BEGIN');
    await admin.query(`SELECT pg_advisory_xact_lock(hashtext('vigil demo roles'))`);
    for (const [role, grants] of [
      [roles.app, []],
      [roles.probe, ['pg_monitor']],
      [roles.operator, ['pg_signal_backend', 'pg_read_all_stats']],
    ] as const) {
      await admin.query(
        `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN; END IF; END $$`,
      );
      for (const grant of grants) await admin.query(`GRANT ${grant} TO ${role}`);
    }
    await admin.query('COMMIT');
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name} OWNER ${roles.app}`);
  } finally {
    await admin.end();
  }
  const base = new URL(adminUrl);
  return {
    appUrl: as(base, roles.app, name),
    probeUrl: as(base, roles.probe, name),
    operatorUrl: as(base, roles.operator, name),
    adminUrl: as(base, base.username || 'postgres', name),
    async drop() {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Each JSON line it printed. */
  lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** A workspace entry point (TypeScript through tsx) as a child process. */
export function startChild(entry: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ['--conditions=@vigil/source', '--import', 'tsx', entry, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const lines: Array<Record<string, unknown>> = [];
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object') lines.push(parsed as Record<string, unknown>);
      } catch {
        // not JSON: kept in the output only
      }
    });
  }
  return {
    process: child,
    output: () => output,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/** examples/payment-api on the demo database, on a free port, once its /health passes. */
export async function startPaymentApi(database: DemoDatabase): Promise<{ payment: Child; url: string }> {
  const port = await freePort();
  const payment = startChild('examples/payment-api/src/main.ts', [], {
    PATH: process.env.PATH,
    PAYMENT_API_PORT: String(port),
    PAYMENT_API_HOST: '127.0.0.1',
    PAYMENT_DATABASE_URL: database.appUrl,
    LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('payment-api start', async () => ((await fetch(`${url}/health`)).ok ? true : undefined), 60_000);
  } catch (error) {
    await payment.stop();
    throw new Error(`${(error as Error).message}: ${payment.output().slice(-2000)}`);
  }
  return { payment, url };
}

/** Polls `check` until it returns a value, or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The service catalog the demo writes for payment-api: its probes, its checks, the executor's role. */
export function demoCatalog(options: { paymentUrl: string; database: DemoDatabase; browser: boolean; service?: string }): string {
  const { paymentUrl, database, browser, service = 'payment-api' } = options;
  return [
    'services:',
    `  ${service}:`,
    '    owners: [payments-oncall]',
    `    health: ${paymentUrl}/health`,
    `    postgres: ${database.probeUrl}`,
    '    probes: [http, postgres]',
    '    checks:',
    `      - { kind: http, name: health, url: '${paymentUrl}/health', expectStatus: 200, maxLatencyMs: 2000 }`,
    ...(browser
      ? [
          `      - kind: browser`,
          `        name: checkout`,
          `        steps: [{ do: goto, target: '${paymentUrl}/checkout' }, { do: click, target: 'button[type=submit]' }, { do: expectText, value: 'Payment confirmed' }]`,
        ]
      : []),
    '    executor:',
    `      postgres: ${database.operatorUrl}`,
    '',
  ].join('\n');
}

/**
 * The demo's policy. Autonomy is granted, never assumed: Vigil may act alone on payment-api, and
 * the file says how sure it must be — this team trusts its lock runbook from a 0.75 match (the
 * product's defaults are 0.90 confidence and 0.85 match). With `approve` a human decides.
 */
export function demoPolicy(approve: boolean, service = 'payment-api'): string {
  return approve
    ? `services:\n  ${service}:\n    autonomy: { default: approve }\n`
    : `services:\n  ${service}:\n    autonomy: { default: auto }\n    thresholds: { autoMinConfidence: 0.75, autoMinMatch: 0.75 }\n`;
}

/**
 * Engine settings the demo runs with: a lock counts after 1 s of waiting, a transaction idle for
 * 10 s is reported (and is what the idle-in-transaction fix ends); proof rounds 1 s apart.
 */
export const demoEngineEnv = {
  INVESTIGATOR_LOCK_WAIT_MIN_S: '1',
  INVESTIGATOR_IDLE_IN_TRANSACTION_S: '10',
  PROOF_ROUND_INTERVAL_MS: '1000',
} as const;

/** One of the demo's real faults: how `vigil chaos` makes it, how the monitor pages on it, and what Vigil must do. */
export interface DemoScenario {
  name: string;
  /** The right outcome: healed without a human, or escalated to one. */
  expect: 'healed' | 'escalated';
  /** Made as the payment service's own role, or as a superuser (the session Vigil must not touch). */
  faultAs: 'app' | 'admin';
  /** Extra `vigil chaos` arguments. */
  chaosArgs: string[];
  /** The database's CONNECTION LIMIT the fault fills: set before it, removed once the scenario ends. */
  databaseConnectionLimit?: number;
  /**
   * What pages Vigil: the synthetic monitor's failing /health, or — for a fault /health does not
   * show — a rule on the database's own activity (as postgres_exporter and Prometheus would), which
   * fires once the fault has lasted `afterMs`.
   */
  page: { on: 'health' } | { on: 'rule'; afterMs: number };
  alertClass: string;
  summary: string;
}

const lockAlert = { alertClass: 'HighLatency', summary: 'payment-api /health failing: checkout requests time out' };

export const demoScenarios: Readonly<Record<string, DemoScenario>> = {
  'pg-lock': { name: 'pg-lock', expect: 'healed', faultAs: 'app', chaosArgs: ['--waiters', '3'], page: { on: 'health' }, ...lockAlert },
  'pool-exhaustion': {
    name: 'pool-exhaustion',
    expect: 'healed',
    faultAs: 'app',
    chaosArgs: [],
    // The database's own limit: a role's would be server-wide, and this database is the demo's alone.
    databaseConnectionLimit: 14,
    page: { on: 'health' },
    alertClass: 'TooManyConnections',
    summary: 'payment-api /health failing: no database connection available',
  },
  'idle-in-transaction': {
    name: 'idle-in-transaction',
    expect: 'healed',
    faultAs: 'app',
    chaosArgs: ['--sessions', '3'],
    // /health stays green under this fault: a long-transaction rule pages once the sessions have
    // been idle past the investigator's threshold (demoEngineEnv: 10 s).
    page: { on: 'rule', afterMs: 12_000 },
    alertClass: 'IdleInTransaction',
    summary: 'payment-api database: sessions idle in transaction',
  },
  'superuser-lock': {
    name: 'superuser-lock',
    expect: 'escalated',
    faultAs: 'admin',
    chaosArgs: ['--waiters', '3'],
    page: { on: 'health' },
    ...lockAlert,
  },
};

/** The database a scenario's fault is made in, as the role it is made as. */
export const faultUrlFor = (scenario: DemoScenario, database: DemoDatabase): string =>
  scenario.faultAs === 'admin' ? database.adminUrl : database.appUrl;

/** Sets (or, with -1, removes) the demo database's CONNECTION LIMIT, as its administrator. */
export async function setConnectionLimit(database: DemoDatabase, limit: number): Promise<void> {
  const admin = new pg.Client({ connectionString: database.adminUrl, connectionTimeoutMillis: 5_000 });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query(
      `ALTER DATABASE ${pg.escapeIdentifier(new URL(database.adminUrl).pathname.slice(1))} CONNECTION LIMIT ${Math.trunc(limit)}`,
    );
  } finally {
    await admin.end();
  }
}

/** The monitor's page for a scenario, as a PagerDuty Events API v2 body. */
export function demoAlert(
  routingKey: string,
  service = 'payment-api',
  scenario: DemoScenario = demoScenarios['pg-lock'] as DemoScenario,
): Record<string, unknown> {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: scenario.page.on === 'health' ? `${service}/health` : `${service}/${scenario.alertClass}`,
    payload: {
      summary: scenario.summary.replace('payment-api', service),
      source: service,
      severity: 'critical',
      component: service,
      class: scenario.alertClass,
    },
  };
}

/** `vigil chaos <scenario>` against the database, until its `fault` line says the fault is in place. */
export async function injectFault(
  scenario: string,
  databaseUrl: string,
  env: NodeJS.ProcessEnv = { PATH: process.env.PATH },
): Promise<{ chaos: Child; fault: Record<string, unknown> }> {
  const args = demoScenarios[scenario]?.chaosArgs ?? ['--waiters', '3'];
  const chaos = startChild('apps/cli/src/main.ts', ['chaos', scenario, '--database-url', databaseUrl, ...args, '--hold', '600'], env);
  try {
    const fault = await waitFor(
      'the fault',
      async () => chaos.lines.find((l) => l.event === 'fault' || l.pid !== undefined || l.blocker_pid !== undefined),
      60_000,
    );
    return { chaos, fault };
  } catch (error) {
    await chaos.stop();
    throw new Error(`${(error as Error).message}: ${chaos.output().slice(-2000)}`);
  }
}

/**
 * The synthetic monitor: three failed /health calls in a row page Vigil through the PagerDuty
 * Events API v2 — or, for a scenario /health does not show, its rule fires after the scenario's
 * delay. Like any monitor it pages again while ingest does not accept (it may be restarting); the
 * answer's status is returned once it does.
 */
export async function pageWhenUnhealthy(options: {
  service: string;
  healthUrl: string;
  ingestUrl: string;
  routingKey: string;
  scenario?: DemoScenario;
  /** The alert's dedup key (default: one per service and scenario). */
  dedupKey?: string;
  timeoutMs?: number;
}): Promise<number> {
  const scenario = options.scenario ?? (demoScenarios['pg-lock'] as DemoScenario);
  if (scenario.page.on === 'rule') await new Promise((resolve) => setTimeout(resolve, (scenario.page as { afterMs: number }).afterMs));
  else {
    let failures = 0;
    await waitFor(
      'the monitor to see the failure',
      async () => {
        const response = await fetch(options.healthUrl, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        failures = response?.ok ? 0 : failures + 1;
        return failures >= 3 ? true : undefined;
      },
      60_000,
      1_000,
    );
  }
  return waitFor(
    'ingest to accept the page',
    async () => {
      const response = await fetch(`${options.ingestUrl}/v2/enqueue`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(10_000),
        body: JSON.stringify({
          ...demoAlert(options.routingKey, options.service, scenario),
          ...(options.dedupKey ? { dedup_key: options.dedupKey } : {}),
        }),
      });
      return response.status < 500 ? response.status : undefined;
    },
    options.timeoutMs ?? 120_000,
    1_000,
  );
}
