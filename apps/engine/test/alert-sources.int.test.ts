import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, uniqueName } from '@vigil/testing';
import {
  createDemoDatabase,
  demoCatalog,
  type DemoDatabase,
  demoEngineEnv,
  demoPolicy,
  freeServicePorts,
  injectFault,
  startPaymentApi,
} from '../src/demo-setup.js';
import { startEngine, type Engine } from '../src/engine.js';

/**
 * The real alert sources, unfaked: Debian's Prometheus scrapes examples/payment-api (and every
 * Vigil service's `/metrics`) while a real row lock slows its /health, fires `HighLatency` to
 * Debian's Alertmanager, which delivers it to Vigil both ways — its webhook receiver (bearer token) and its PagerDuty
 * receiver pointed at `/v2/enqueue` (Events API v2, routing key). Both arrive, they make one
 * incident, and Vigil heals it: the blocker's session ended once, the proof passing.
 */
const PROMETHEUS = '/usr/bin/prometheus';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

let engine: Engine | undefined;
let database: DemoDatabase | undefined;
const stoppers: Array<() => Promise<unknown>> = [];
let dir: string | undefined;
const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  await engine?.stop();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts a binary, keeping its output for the failure message of a test that waits on it. */
function run(binary: string, args: string[]): { output: () => string } {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  children.push(child);
  return { output: () => output };
}

const local = (url: string): string => url.replace('0.0.0.0', '127.0.0.1');

/** `eventually`, failing with the latest output of the process it waits on. */
async function waitOn<T>(check: () => Promise<T | false | undefined>, message: string, output: () => string): Promise<T> {
  try {
    return await eventually(check, { timeoutMs: 60_000, message });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${output()}`);
  }
}

it('a latency alert from Prometheus reaches Vigil through Alertmanager both ways, opens one incident, and is healed', async () => {
  const token = randomBytes(18).toString('base64url'); // 24 characters
  const routingKey = randomBytes(16).toString('hex');

  // The real service, on a real PostgreSQL, with the roles a deployment would have.
  database = await createDemoDatabase(
    await databaseUrl(),
    uniqueName('alerts')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_'),
  );
  const { payment, url: paymentUrl } = await startPaymentApi(database);
  stoppers.push(() => payment.stop());
  const paymentPort = Number(new URL(paymentUrl).port);

  dir = await mkdtemp(join(tmpdir(), 'vigil-alert-sources-'));
  await writeFile(join(dir, 'catalog.yaml'), demoCatalog({ paymentUrl, database, browser: false }));
  await writeFile(join(dir, 'policy.yaml'), demoPolicy(false));
  const ports = await freeServicePorts();
  engine = await startEngine({
    PATH: process.env.PATH,
    LOG_LEVEL: 'silent',
    ALERTMANAGER_TOKEN: token,
    VIGIL_ROUTING_KEYS: routingKey,
    VIGIL_SERVICE_CATALOG: join(dir, 'catalog.yaml'),
    VIGIL_POLICY_FILE: join(dir, 'policy.yaml'),
    ...demoEngineEnv,
    ...ports,
  });
  const ingest = local(engine.urls['ingest']!);

  // Traffic: what a load balancer's checks or users would send. Under the lock each /health
  // waits for its lock timeout, and the latency Prometheus records climbs.
  let traffic = true;
  const load = (async () => {
    while (traffic) {
      await fetch(`${paymentUrl}/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  stoppers.push(async () => {
    traffic = false;
    await load;
  });

  const [promPort, amPort] = [await freePort(), await freePort()];
  const vigilTargets = Object.values(engine.urls).map((url) => new URL(local(url)).host);
  // YAML is a superset of JSON: every config is written as JSON.
  await writeFile(
    join(dir, 'rules.yml'),
    JSON.stringify({
      groups: [
        {
          name: 'payment-api',
          rules: [
            {
              alert: 'HighLatency',
              expr: 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{route="/health"}[10s]))) > 0.5',
              for: '0s',
              labels: { service: 'payment-api', severity: 'critical' },
              annotations: { summary: 'payment-api /health p90 latency above 500 ms' },
            },
          ],
        },
      ],
    }),
  );
  await writeFile(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [
        { job_name: 'payment-api', static_configs: [{ targets: [`127.0.0.1:${paymentPort}`] }] },
        { job_name: 'vigil', static_configs: [{ targets: vigilTargets }] },
      ],
    }),
  );
  await writeFile(
    join(dir, 'alertmanager.yml'),
    JSON.stringify({
      route: {
        receiver: 'vigil-webhook',
        group_by: ['alertname', 'service'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
        routes: [
          { matchers: ['service="payment-api"'], receiver: 'vigil-webhook', continue: true },
          { matchers: ['service="payment-api"'], receiver: 'vigil-events-v2' },
        ],
      },
      receivers: [
        {
          name: 'vigil-webhook',
          webhook_configs: [
            { url: `${ingest}/webhooks/alertmanager`, http_config: { authorization: { type: 'Bearer', credentials: token } } },
          ],
        },
        {
          name: 'vigil-events-v2',
          pagerduty_configs: [
            {
              routing_key: routingKey,
              url: `${ingest}/v2/enqueue`,
              severity: 'critical',
              component: '{{ .CommonLabels.service }}',
              // The labels Vigil correlates on: the same alert through both channels is one incident.
              details: { service: '{{ .CommonLabels.service }}', alertname: '{{ .CommonLabels.alertname }}' },
            },
          ],
        },
      ],
    }),
  );
  const alertmanager = run(ALERTMANAGER, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'alertmanager')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);
  const prometheus = run(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);

  // Every target is up: our /metrics parse as Prometheus' text format. A scrape has a 1 s
  // timeout here (the scrape interval), which a loaded machine can miss once: a target is judged
  // by its latest scrape, and one whose /metrics never parse stays down and fails the wait.
  let scraped: Array<{ scrapeUrl: string; health: string; lastError: string }> = [];
  const targets = await waitOn(
    async () => {
      const body = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> };
      };
      scraped = body.data.activeTargets;
      return scraped.length === vigilTargets.length + 1 && scraped.every((t) => t.health === 'up') && scraped;
    },
    'Prometheus never scraped every target',
    () => `${JSON.stringify(scraped.map((t) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError })))}\n${prometheus.output()}`,
  );
  expect(targets.map((t) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError }))).toEqual(
    targets.map((t) => ({ url: t.scrapeUrl, health: 'up', error: '' })),
  );

  // The fault: a transaction holds the row every request needs.
  const { chaos, fault } = await injectFault('pg-lock', database.appUrl);
  stoppers.push(() => chaos.stop());

  const triggered = await waitOn(
    async () => {
      const found = (await collect(engine!.bus.read({ types: ['incident.triggered'] })))
        .map((s) => s.event as VigilEvent<'incident.triggered'>)
        .filter((e) => e.data.service === 'payment-api');
      const sources = new Set(found.map((e) => e.data.source));
      return sources.has('alertmanager') && sources.has('events_v2') && found;
    },
    'Vigil never received the alert both ways',
    alertmanager.output,
  );
  const viaWebhook = triggered.find((e) => e.data.source === 'alertmanager')!;
  expect(viaWebhook.data).toMatchObject({
    alertName: 'HighLatency',
    severity: 'critical',
    labels: expect.objectContaining({ alertname: 'HighLatency', service: 'payment-api' }),
  });
  expect(viaWebhook.data.dedupKey).toMatch(/^alertmanager:/);
  const viaEventsV2 = triggered.find((e) => e.data.source === 'events_v2')!;
  expect(viaEventsV2.data.severity).toBe('critical');

  // One incident for the one alert, healed: the blocker ended once, the proof passing.
  const outcome = await eventually(
    async () => {
      const [found] = await collect(engine!.bus.read({ types: ['incident.resolved', 'incident.escalated'] }));
      return found?.event as VigilEvent<'incident.resolved'> | VigilEvent<'incident.escalated'> | undefined;
    },
    { timeoutMs: 150_000, message: 'the incident never ended' },
  );
  expect(outcome.type === 'incident.escalated' ? outcome.data : 'resolved').toBe('resolved');
  const opened = await collect(engine!.bus.read({ types: ['investigation.requested'] }));
  expect(opened.map((s) => s.event.incidentId)).toEqual([outcome.incidentId]);
  const executed = (await collect(engine!.bus.read({ types: ['execution.completed'] }))).map(
    (s) => s.event as VigilEvent<'execution.completed'>,
  );
  expect(executed.map((e) => [e.data.mode, e.data.status])).toEqual([['run', 'succeeded']]);
  expect(executed[0]!.data.summary).toContain(`terminated pid ${String(fault['blocker_pid'])}`);
  expect((await fetch(`${paymentUrl}/health`)).status).toBe(200);

  // The incident's record names both channels.
  const record = (await (
    await fetch(`${local(engine.urls['orchestrator']!)}/incidents/${outcome.incidentId}`, {
      headers: { authorization: `Bearer ${engine.apiToken}` },
    })
  ).json()) as { incident: { stage: string; source: string; correlated?: Array<{ source: string }> } };
  expect(record.incident.stage).toBe('RESOLVED');
  expect([record.incident.source, ...(record.incident.correlated ?? []).map((c) => c.source)].sort()).toEqual([
    'alertmanager',
    'events_v2',
  ]);
}, 240_000);
