import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { createEvent, exampleData } from '@vigil/events';
import { eventually } from '@vigil/testing';
import { isVigilError } from '@vigil/errors';
import { loadConfig } from './config.js';
import { createHttpServer } from './http.js';
import { infrastructureConfig } from './infrastructure.js';
import { startService } from './service.js';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe('HTTP surface', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  function build(dependencies: Record<string, () => Promise<{ ok: boolean; detail: string }>>) {
    const metrics = new ServiceMetrics('probe');
    const app = createHttpServer({
      service: 'probe',
      version: '1.2.3',
      logger: createLogger({ service: 'probe', level: 'silent' }),
      metrics,
      dependencies,
      consoleUrl: 'http://127.0.0.1:7402/',
    });
    closers.push(() => app.close());
    return { app, metrics };
  }

  it('/healthz answers while the process lives; /readyz reflects the dependencies', async () => {
    let dbUp = true;
    const { app } = build({
      bus: async () => ({ ok: true, detail: 'in-process bus' }),
      db: async () => ({ ok: dbUp, detail: dbUp ? 'ok' : 'connection refused' }),
      cache: async () => {
        throw new Error('boom');
      },
    });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().dependencies.cache).toEqual({ ok: false, detail: 'boom' });
    const { app: healthy } = build({ db: async () => ({ ok: dbUp, detail: 'ok' }) });
    expect((await healthy.inject('/readyz')).statusCode).toBe(200);
    dbUp = false;
    expect((await healthy.inject('/readyz')).statusCode).toBe(503);
  });

  it('/metrics exposes process metrics, handled events by outcome, latency and consumer lag', async () => {
    const { app, metrics } = build({});
    const bus = new MemoryBus({ observer: metrics.observer });
    closers.push(() => bus.close());
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const sub = await bus.consume({
      durable: 'probe',
      concurrency: 1,
      handlers: { 'incident.triggered': () => gate },
    });
    metrics.track(sub);
    for (let i = 0; i < 3; i++) await bus.publish(createEvent('incident.triggered', exampleData['incident.triggered'], { source: 't' }));
    const lagging = (await app.inject('/metrics')).body;
    expect(lagging).toContain('vigil_consumer_pending{consumer="probe",service="probe"} 3');
    release();
    await eventually(async () =>
      (await app.inject('/metrics')).body.includes('vigil_consumer_pending{consumer="probe",service="probe"} 0'),
    );
    const response = await app.inject('/metrics');
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toContain(
      'vigil_events_handled_total{consumer="probe",type="incident.triggered",outcome="ack",service="probe"} 3',
    );
    expect(response.body).toContain('vigil_handler_duration_seconds_bucket');
  });

  it('the status page shows dependencies, lag and the last events, as JSON or HTML', async () => {
    const { app, metrics } = build({ db: async () => ({ ok: false, detail: 'down <for> maintenance' }) });
    metrics.observer.onSettled?.({
      consumer: 'probe',
      type: 'hypothesis.received',
      incidentId: 'inc-7',
      eventId: 'e',
      settlement: 'term',
      deliveryCount: 5,
      durationMs: 3,
      error: { code: 'EVENT_INVALID', message: 'bad' },
    });
    const json = (await app.inject('/')).json();
    expect(json).toMatchObject({ service: 'probe', version: '1.2.3', dependencies: { db: { ok: false } } });
    expect(json.lastFailed[0]).toMatchObject({ incidentId: 'inc-7', error: 'EVENT_INVALID: bad' });
    const html = (await app.inject({ url: '/', headers: { accept: 'text/html' } })).body;
    expect(html).toContain('<h1>probe');
    expect(html).toContain('down &lt;for&gt; maintenance');
    expect(html).toContain('href="http://127.0.0.1:7402/"');
  });
});

describe('the status page link to the console', () => {
  it('comes from VIGIL_CONSOLE_URL through startService, only when set, and only as an http(s) URL', async () => {
    const started = async (env: Record<string, string>) => {
      const config = loadConfig(infrastructureConfig, env);
      const bus = new MemoryBus();
      const service = await startService({
        name: 'probe',
        version: '1',
        host: '127.0.0.1',
        port: 0,
        logger: createLogger({ service: 'probe', level: 'silent' }),
        metrics: new ServiceMetrics('probe'),
        bus,
        consoleUrl: config.VIGIL_CONSOLE_URL,
      });
      try {
        return await (await fetch(`${service.url}/`, { headers: { accept: 'text/html' } })).text();
      } finally {
        await service.stop();
      }
    };
    expect(await started({ VIGIL_CONSOLE_URL: 'http://127.0.0.1:7402/console' })).toContain(
      '<a href="http://127.0.0.1:7402/console">incident console</a>',
    );
    expect(await started({})).not.toContain('incident console');
    let refused: unknown;
    try {
      loadConfig(infrastructureConfig, { VIGIL_CONSOLE_URL: 'javascript:alert(1)' });
    } catch (error) {
      refused = error;
    }
    expect(isVigilError(refused, 'CONFIG_INVALID')).toBe(true);
    expect((refused as Error).message).toContain('VIGIL_CONSOLE_URL');
  });
});

describe('logger', () => {
  it('writes JSON lines with the service and hides credentials wherever they sit', () => {
    const { lines, stream } = capture();
    const log = createLogger({ service: 'ingest', level: 'info', destination: stream });
    log.child({ incidentId: 'inc-1', dsn: 'postgres://vigil:hunter3@db:5432/vigil' }).info(
      {
        password: 'hunter2',
        headers: { Authorization: 'Token token=abc' },
        vendor: { request: { headers: { authorization: 'Bearer xoxb-1' } }, apiKey: 'k-123', a: { b: { PASSWORD: 'deep' } } },
        url: 'nats://admin:s3cret@nats:4222',
        err: new Error('cannot connect to redis://:r3dis@cache:6379'),
      },
      'calling nats://u:msgpass@host',
    );
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ service: 'ingest', incidentId: 'inc-1', password: '[redacted]', url: 'nats://[redacted]@nats:4222' });
    expect(line.msg).toBe('calling nats://[redacted]@host');
    expect(line.dsn).toBe('postgres://[redacted]@db:5432/vigil');
    for (const secret of ['hunter2', 'hunter3', 'abc', 'xoxb-1', 'k-123', 'deep', 's3cret', 'r3dis', 'msgpass']) {
      expect(lines[0]).not.toContain(secret);
    }
  });
});
