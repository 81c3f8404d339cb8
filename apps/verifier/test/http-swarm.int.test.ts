import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerificationCheck, VerificationRequested } from '@vigil/events';
import { freePort } from '@vigil/testing';
import { createSwarm, type Swarm } from '../src/swarm.js';
import { html, latch, startPages, type Pages } from './pages.js';

/**
 * HTTP probes and the round logic against a real local service: healthy, failing, slow, wrong
 * body, flapping, down. No browser here (none is started: the pool is lazy).
 */
let pages: Pages;
let swarm: Swarm;

beforeAll(async () => {
  pages = await startPages({
    '/healthz': () => ({ body: html('ok', '<p>status: ok</p>') }),
    '/broken': () => ({ status: 500, body: html('error', '<h1>Internal Server Error</h1><p>database unreachable</p>') }),
    '/slow': () => ({ body: 'ok', delayMs: 1_500 }),
    '/wrong': () => ({ body: html('maintenance', '<p>down for maintenance</p>') }),
  });
  swarm = createSwarm({
    browser: { kind: 'launch', executablePath: '/nonexistent/chromium' },
    httpTimeoutMs: 5_000,
    stepTimeoutMs: 1_000,
    maxHttpInFlight: 8,
    maxBrowserInFlight: 1,
  });
});

afterAll(async () => {
  await swarm?.close();
  await pages?.close();
});

const http = (name: string, path: string, extra: Record<string, unknown> = {}) =>
  VerificationCheck.parse({ kind: 'http', name, url: `${pages.url}${path}`, ...extra });

const request = (mode: 'baseline' | 'proof', checks: VerificationCheck[], extra: Record<string, unknown> = {}) =>
  VerificationRequested.parse({ service: 'payment-api', mode, checks, concurrency: 3, roundIntervalMs: 10, ...extra });

describe('HTTP probes', () => {
  it('a healthy service: every copy passes, with its latency', async () => {
    const attempts = await swarm.round([http('health', '/healthz', { bodyContains: 'status: ok', maxLatencyMs: 5_000 })], 5);
    expect(attempts).toHaveLength(5);
    expect(attempts.every((a) => a.passed && a.latencyMs >= 0)).toBe(true);
  });

  it('a 500: the status and an excerpt of the body', async () => {
    const [attempt] = await swarm.round([http('broken', '/broken')], 1);
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'service', status: 500, error: 'status 500, expected 200' } });
    expect(attempt!.failure!.excerpt).toContain('database unreachable');
  });

  it('a slow answer fails its maxLatencyMs (and is not waited for)', async () => {
    const [attempt] = await swarm.round([http('slow', '/slow', { maxLatencyMs: 200 })], 1);
    expect(attempt).toMatchObject({ passed: false, failure: { blame: 'service' } });
    expect(attempt!.failure!.error).toContain('maxLatencyMs 200');
  });

  it('a body without the expected text: quoted, with what came instead', async () => {
    const [attempt] = await swarm.round([http('wrong', '/wrong', { bodyContains: 'status: ok' })], 1);
    expect(attempt!.failure).toMatchObject({ status: 200, error: 'body does not contain "status: ok"' });
    expect(attempt!.failure!.excerpt).toContain('down for maintenance');
  });

  it('a service that is down: the connection error', async () => {
    const port = await freePort();
    const [attempt] = await swarm.round([VerificationCheck.parse({ kind: 'http', name: 'down', url: `http://127.0.0.1:${port}/` })], 1);
    expect(attempt!.failure!.error).toContain('ECONNREFUSED');
  });

  it('copies run at once, never more than the process bound', async () => {
    // The page answers only once four requests wait together: a round that ran them one by one would time out.
    let gate = latch();
    let waiting = 0;
    pages.route('/together', async () => {
      waiting += 1;
      if (waiting % 4 === 0) {
        gate.open();
        const opened = gate;
        gate = latch();
        await opened.wait();
      } else await gate.wait();
      return { body: 'ok' };
    });
    pages.resetPeak();
    const attempts = await swarm.round([http('together', '/together')], 16);
    expect(attempts.filter((a) => a.passed)).toHaveLength(16);
    expect(pages.peakInFlight()).toBeGreaterThanOrEqual(4);
    expect(pages.peakInFlight()).toBeLessThanOrEqual(8);
  });
});

describe('rounds: baseline and proof', () => {
  it('baseline on a healthy service: passed (the saga hears the failure is not real)', async () => {
    const result = await swarm.verify(request('baseline', [http('health', '/healthz')], { consecutivePasses: 1 }));
    expect(result).toMatchObject({ mode: 'baseline', passed: true, passRatio: 1, rounds: 1, failures: [] });
  });

  it('baseline on a failing service: not passed, with the failures as evidence', async () => {
    const result = await swarm.verify(request('baseline', [http('health', '/healthz'), http('broken', '/broken')]));
    expect(result).toMatchObject({ mode: 'baseline', passed: false, rounds: 1 });
    expect(result.passRatio).toBeLessThan(1);
    expect(result.failures.length).toBeGreaterThan(0);
    expect(result.failures.every((f) => f.check === 'broken' && f.status === 500)).toBe(true);
  });

  it('baseline: the first failure confirms it, without waiting for checks that hang behind the same fault', async () => {
    // The page that hangs answers only once the baseline is over: a round that waited for every
    // attempt would wait out the probe timeout and report the hung copies among its failures.
    const hung = latch();
    pages.route('/hangs', async () => {
      await hung.wait();
      return { body: 'late' };
    });
    try {
      const result = await swarm.verify(request('baseline', [http('hangs', '/hangs'), http('broken', '/broken')]));
      expect(result).toMatchObject({ mode: 'baseline', passed: false, rounds: 1 });
      expect(result.failures.map((f) => f.check)).toContain('broken');
      expect(result.failures.map((f) => f.check)).not.toContain('hangs');
    } finally {
      hung.open();
    }
  });

  it('proof on a flapping service that recovers: passed once K rounds in a row pass', async () => {
    let failing = true;
    pages.route('/flapping', () => (failing ? { status: 503, body: 'warming up' } : { body: 'ok' }));
    const result = await swarm.verify(request('proof', [http('flapping', '/flapping')], { consecutivePasses: 3, deadlineMs: 30_000 }), {
      onRound: (_round, index) => {
        if (index === 2) failing = false; // the fix takes hold after the second round
      },
    });
    expect(result).toMatchObject({ mode: 'proof', passed: true, rounds: 5, passRatio: 0.6, failures: [] });
  });

  it('proof on a service that flaps every round: never K in a row, not passed at the deadline, with the last failures', async () => {
    let up = false;
    pages.route('/unsteady', () => ({ status: up ? 200 : 502, body: up ? 'ok' : 'bad gateway' }));
    const result = await swarm.verify(
      request('proof', [http('unsteady', '/unsteady')], { consecutivePasses: 2, deadlineMs: 1_500, roundIntervalMs: 50 }),
      {
        onRound: () => {
          up = !up;
        },
      },
    );
    expect(result.passed).toBe(false);
    expect(result.rounds).toBeGreaterThanOrEqual(1);
    expect(result.failures).toEqual([expect.objectContaining({ check: 'unsteady', status: 502, excerpt: 'bad gateway' })]);
  });

  it('proof on a service that never recovers: not passed at the deadline', async () => {
    const result = await swarm.verify(request('proof', [http('broken', '/broken')], { deadlineMs: 1_000, roundIntervalMs: 100 }));
    expect(result).toMatchObject({ mode: 'proof', passed: false, passRatio: 0 });
    expect(result.failures[0]).toMatchObject({ check: 'broken', status: 500 });
  });

  it('a request’s deadline is cut to the configured maximum', async () => {
    const short = createSwarm({
      browser: { kind: 'launch', executablePath: '/nonexistent/chromium' },
      httpTimeoutMs: 1_000,
      stepTimeoutMs: 1_000,
      maxHttpInFlight: 2,
      maxBrowserInFlight: 1,
      maxDeadlineMs: 300,
    });
    try {
      // An hour-long deadline would keep this failing proof going; the cap ends it.
      const result = await short.verify(request('proof', [http('broken', '/broken')], { deadlineMs: 3_600_000, roundIntervalMs: 100 }));
      expect(result.passed).toBe(false);
    } finally {
      await short.close();
    }
  });
});
