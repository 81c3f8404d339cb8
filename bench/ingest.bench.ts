import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Pool } from 'undici';
import { connect } from '@nats-io/transport-node';
import { deleteNatsStreams } from '@vigil/bus';
import { lanes, round, type Benchmark } from './harness.js';

const COUNT = Number(process.env.BENCH_INGEST_WEBHOOKS ?? 5000);
const CONCURRENCY = 64;
const SECRET = 'bench-webhook-secret-0123456789';
const root = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function webhooks(tag: string): Array<{ body: string; signature: string; id: string }> {
  return Array.from({ length: COUNT }, (_, i) => {
    const id = `${tag}-${i}`;
    const body = JSON.stringify({
      event: {
        id,
        event_type: 'incident.triggered',
        resource_type: 'incident',
        occurred_at: new Date().toISOString(),
        agent: null,
        data: {
          id: `P${i}`,
          type: 'incident',
          title: `payment-api p95 latency above 2s (${i})`,
          html_url: `https://acme.pagerduty.com/incidents/P${i}`,
          incident_key: `bench/${id}`,
          urgency: 'high',
          service: { id: 'PF9KMXH', summary: 'payment-api', type: 'service_reference' },
        },
      },
    });
    return { body, id, signature: `v1=${createHmac('sha256', SECRET).update(body).digest('hex')}` };
  });
}

async function waitReady(url: string, status = 200): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(url, { method: status === 200 ? 'GET' : 'POST', body: status === 200 ? undefined : '{}' });
      if (response.status === status || (status !== 200 && response.status < 500)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

/** Posts every webhook to `url` with CONCURRENCY in flight; the time it took, in ms. */
async function postAll(url: string, batch: ReturnType<typeof webhooks>): Promise<number> {
  // undici's pool, not fetch: fetch spends ~0.4 ms of CPU per request and would measure itself.
  const pool = new Pool(url, { connections: CONCURRENCY });
  try {
    const started = performance.now();
    await lanes(batch.length, CONCURRENCY, async (i) => {
      const hook = batch[i] as (typeof batch)[number];
      const response = await pool.request({
        path: '/webhooks/pagerduty',
        method: 'POST',
        body: hook.body,
        headers: { 'content-type': 'application/json', 'x-pagerduty-signature': hook.signature, 'x-webhook-id': hook.id },
      });
      await response.body.dump();
      if (response.statusCode !== 202) throw new Error(`${url} answered ${response.statusCode}`);
    });
    return performance.now() - started;
  } finally {
    await pool.close();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** Signed PagerDuty webhooks through the ingest process (HTTP, signature, Redis, JetStream ack). */
async function throughIngest(natsUrl: string, redisUrl: string): Promise<number> {
  const port = await freePort();
  const prefix = `benchingest_${Date.now()}`;
  // BENCH_CPU_PROF=DIR writes the ingest process's CPU profile there (open it in Chrome's DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--conditions=@vigil/source', '--import', 'tsx', 'apps/ingest/src/main.ts'], {
    cwd: root,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH ?? '',
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      VIGIL_SUBJECT_PREFIX: prefix,
      INGEST_HOST: '127.0.0.1',
      INGEST_PORT: String(port),
      PAGERDUTY_WEBHOOK_SECRETS: SECRET,
      LOG_LEVEL: 'error',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/readyz`);
    return await postAll(url, webhooks(prefix));
  } finally {
    await stopChild(child);
    await deleteNatsStreams({ url: natsUrl, prefix });
  }
}

/** The same webhooks through a bare HTTP server that only publishes them (bench/fixtures/bare-intake.ts). */
async function throughBareServer(natsUrl: string): Promise<number> {
  const port = await freePort();
  const name = `BENCH_INGEST_BARE_${Date.now()}`;
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/fixtures/bare-intake.ts'], {
    cwd: root,
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '', NATS_URL: natsUrl, BARE_PORT: String(port), BARE_SUBJECT: `${name}.incident.triggered` },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, 404);
    return await postAll(url, webhooks(name));
  } finally {
    await stopChild(child);
    await jsm.streams.delete(name);
    await nc.close();
  }
}

/** The same payloads published straight to JetStream, with the same concurrency. */
async function rawPublish(natsUrl: string): Promise<number> {
  // The baseline gets the client's fastest settings too, so the ratio shows only Vigil's own cost.
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const name = `BENCH_INGEST_RAW_${Date.now()}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  try {
    const js = jetstream(nc);
    const batch = webhooks(name);
    const started = performance.now();
    await lanes(batch.length, CONCURRENCY, async (i) => {
      const hook = batch[i] as (typeof batch)[number];
      await js.publish(`${name}.incident.triggered`, hook.body, { msgID: hook.id });
    });
    return performance.now() - started;
  } finally {
    await jsm.streams.delete(name);
    await nc.close();
  }
}

export const ingestBenchmark: Benchmark = {
  name: 'ingest: signed webhooks to a JetStream ack',
  async run() {
    const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    let raw = Infinity;
    let bare = Infinity;
    let ingest = Infinity;
    for (let i = 0; i < 2; i++) {
      raw = Math.min(raw, await rawPublish(natsUrl));
      bare = Math.min(bare, await throughBareServer(natsUrl));
      ingest = Math.min(ingest, await throughIngest(natsUrl, redisUrl));
    }
    const perSecond = (ms: number): number => Math.round((COUNT / ms) * 1000);
    return {
      name: this.name,
      figures: {
        webhooks: COUNT,
        raw_publish_per_s: perSecond(raw),
        bare_http_publish_per_s: perSecond(bare),
        ingest_webhooks_per_s: perSecond(ingest),
      },
      ratios: { webhooks_vs_raw_publish: round(raw / ingest), webhooks_vs_bare_http_publish: round(bare / ingest) },
      goals: { webhooks_vs_raw_publish: 0.5 },
      notes: [
        `${CONCURRENCY} requests in flight (undici pool) against one ingest process: HTTP, signature, Redis redelivery check, JetStream ack, Redis write`,
        'bare_http_publish: a node:http server that only parses and publishes each body (bench/fixtures/bare-intake.ts) — the floor any HTTP intake on this machine stands on',
      ],
    };
  },
};
