import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerificationCheck, VerificationRequested } from '@vigil/events';
import { eventually } from '@vigil/testing';
import { chromiumArgs } from '../src/checks/browser-pool.js';
import type { RoundSummary } from '../src/domain/verdict.js';
import { createSwarm, type Swarm } from '../src/swarm.js';
import { html, latch, startPages, type Pages } from './pages.js';

/** Browser journeys in a real Chromium against real local pages. */
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let pages: Pages;
/** Patient (a loaded CI machine must not fail a healthy page) … */
let swarm: Swarm;
/** … and impatient, for the pages that never show what is expected (each waits out its step timeout). */
let impatient: Swarm;
let shots: string;

const form = html(
  'sign in',
  `<form action="/hello" method="get"><input id="name" name="name"><button id="go" type="submit">Go</button></form>`,
);

beforeAll(async () => {
  shots = await mkdtemp(join(tmpdir(), 'verifier-shots-'));
  pages = await startPages({
    '/': () => ({ body: html('home', '<h1>Welcome to the shop</h1>') }),
    '/broken': () => ({ status: 500, body: html('error', '<h1>Internal Server Error</h1><p>upstream timed out</p>') }),
    '/maintenance': () => ({ body: html('shop', '<h1>Down for maintenance</h1>') }),
    '/slow': () => ({ body: html('slow', '<p>finally</p>'), delayMs: 8_000 }),
    '/form': () => ({ body: form }),
    '/hello': (_req, url) => ({ body: html('hello', `<p id="greeting">Hello, ${url.searchParams.get('name') ?? 'nobody'}</p>`) }),
    '/late': () => ({
      body: html(
        'late',
        `<script>setTimeout(() => { document.body.insertAdjacentHTML('beforeend', '<div id="late">ready</div>') }, 100)</script>`,
      ),
    }),
    '/login': () => ({ body: html('in', '<p>signed in</p>'), headers: { 'set-cookie': 'session=abc; Path=/' } }),
    '/whoami': (req) => ({ body: html('who', `<p>${req.headers.cookie?.includes('session=abc') ? 'signed in' : 'anonymous'}</p>`) }),
  });
  swarm = createSwarm({
    browser: { kind: 'launch', executablePath: chromium },
    httpTimeoutMs: 5_000,
    stepTimeoutMs: 15_000,
    maxHttpInFlight: 8,
    maxBrowserInFlight: 4,
    screenshotDir: shots,
  });
  impatient = createSwarm({
    browser: { kind: 'launch', executablePath: chromium },
    httpTimeoutMs: 5_000,
    stepTimeoutMs: 3_000,
    maxHttpInFlight: 8,
    maxBrowserInFlight: 4,
  });
});

afterAll(async () => {
  await swarm?.close();
  await impatient?.close();
  await pages?.close();
  if (shots) await rm(shots, { recursive: true, force: true });
});

type StepInput = { do: string; target?: string; value?: string };
const journey = (name: string, steps: StepInput[]) => VerificationCheck.parse({ kind: 'browser', name, steps });
const goto = (path: string): StepInput => ({ do: 'goto', target: `${pages.url}${path}` });

describe('browser journeys in Chromium', () => {
  it('a healthy page: every copy passes, each in its own context, all closed after, one browser', async () => {
    const attempts = await swarm.round(
      [journey('home', [goto('/'), { do: 'expectText', value: 'Welcome' }, { do: 'expectStatus', value: '200' }])],
      3,
    );
    expect(attempts.map((a) => a.passed)).toEqual([true, true, true]);
    expect(swarm.browser.pid()).toBeGreaterThan(0);
    expect(swarm.browser.openContexts()).toBe(0);
    expect(pages.hits('/')).toBeGreaterThanOrEqual(3);
  });

  it('a 500: the status, the page text, and one screenshot for the round', async () => {
    const before = (await readdir(shots)).length;
    const attempts = await swarm.round([journey('checkout', [goto('/broken'), { do: 'expectStatus', value: '200' }])], 3);
    expect(attempts.every((a) => !a.passed && a.failure?.blame === 'service')).toBe(true);
    const failure = attempts.find((a) => a.failure?.screenshotPath)?.failure;
    expect(failure).toMatchObject({ check: 'checkout', status: 500, error: 'step 2 (expectStatus): status 500, expected 200' });
    expect(failure!.excerpt).toContain('upstream timed out');
    expect((await stat(failure!.screenshotPath!)).size).toBeGreaterThan(0);
    expect((await readdir(shots)).length).toBe(before + 1);
  });

  it('a page whose text is wrong: expectText fails, quoting what the page says', async () => {
    const [attempt] = await impatient.round([journey('shop', [goto('/maintenance'), { do: 'expectText', value: 'Welcome' }])], 1);
    expect(attempt!.failure).toMatchObject({ blame: 'service', status: 200 });
    expect(attempt!.failure!.error).toBe('step 2 (expectText): "Welcome" not found within 3000 ms');
    expect(attempt!.failure!.excerpt).toBe('Down for maintenance');
  });

  it('a page slower than the step timeout fails the navigation', async () => {
    const [attempt] = await impatient.round([journey('slow', [goto('/slow')])], 1);
    expect(attempt!.failure).toMatchObject({ blame: 'service' });
    expect(attempt!.failure!.error).toMatch(/^step 1 \(goto\): Navigation timeout of 3000 ms exceeded/);
  });

  it('a form: type, click, the next page greets (and the wrong name does not)', async () => {
    const steps = (name: string, expected: string) =>
      journey(`form-${name}`, [
        goto('/form'),
        { do: 'type', target: '#name', value: name },
        { do: 'click', target: '#go' },
        { do: 'waitFor', target: '#greeting' },
        { do: 'expectText', target: '#greeting', value: expected },
        { do: 'expectStatus', value: '200' },
      ]);
    const [right] = await swarm.round([steps('Ada', 'Hello, Ada')], 1);
    const [wrong] = await impatient.round([steps('Bob', 'Hello, Ada')], 1);
    expect(right).toMatchObject({ passed: true });
    expect(wrong!.failure!.error).toBe('step 5 (expectText): "Hello, Ada" not found in #greeting within 3000 ms');
    expect(pages.hits('/hello')).toBeGreaterThanOrEqual(2);
  });

  it('waitFor an element a script adds later', async () => {
    const [attempt] = await swarm.round(
      [journey('late', [goto('/late'), { do: 'waitFor', target: '#late' }, { do: 'expectText', value: 'ready' }])],
      1,
    );
    expect(attempt).toMatchObject({ passed: true });
  });

  it('checks share no cookies: a context per check', async () => {
    await swarm.round([journey('login', [goto('/login'), { do: 'expectText', value: 'signed in' }])], 1);
    const [attempt] = await swarm.round([journey('whoami', [goto('/whoami'), { do: 'expectText', value: 'anonymous' }])], 1);
    expect(attempt).toMatchObject({ passed: true });
  });
});

describe('a browser that dies', () => {
  it('killed mid-round: that round reports the verifier’s errors, the next relaunches and passes', async () => {
    // The step timeout is no part of this story: long enough that neither the held round (held
    // until the kill) nor a relaunch on a loaded machine runs into it instead.
    const own = createSwarm({
      browser: { kind: 'launch', executablePath: chromium },
      httpTimeoutMs: 5_000,
      stepTimeoutMs: 15_000,
      maxHttpInFlight: 4,
      maxBrowserInFlight: 4,
    });
    try {
      // The first round's pages are held until the browser is killed; later ones answer at once.
      const killed = latch();
      let arrived = 0;
      const allHeld = latch();
      pages.route('/held', async () => {
        if (!killed.isOpen()) {
          if (++arrived === 2) allHeld.open();
          await killed.wait();
        }
        return { body: html('held', '<p>ok</p>') };
      });
      const rounds: RoundSummary[] = [];
      const pids: number[] = [];
      const verifying = own.verify(
        VerificationRequested.parse({
          service: 'shop',
          mode: 'proof',
          checks: [journey('held', [goto('/held'), { do: 'expectText', value: 'ok' }])],
          concurrency: 2,
          consecutivePasses: 2,
          roundIntervalMs: 10,
          deadlineMs: 60_000,
        }),
        {
          onRound: (round) => {
            rounds.push(round);
            pids.push(own.browser.pid() ?? 0);
          },
        },
      );
      await allHeld.wait();
      const first = own.browser.pid()!;
      process.kill(first, 'SIGKILL');
      await eventually(() => own.browser.lost === 1, { message: 'the pool noticed the browser died' });
      killed.open();
      const result = await verifying;
      expect(rounds[0]).toMatchObject({ attempts: 2, passedAttempts: 0, inconclusive: true });
      expect(rounds[0]!.failures[0]!.error).toMatch(/^browser lost during the check/);
      expect(result).toMatchObject({ mode: 'proof', passed: true, rounds: 3, passRatio: 0.6667 });
      expect(pids.slice(1).every((pid) => pid > 0 && pid !== first)).toBe(true);
    } finally {
      await own.close();
    }
  });

  it('no Chromium where configured: each browser check reports the verifier’s error, HTTP probes still run', async () => {
    const none = createSwarm({
      browser: { kind: 'launch', executablePath: '/nonexistent/chromium' },
      httpTimeoutMs: 5_000,
      stepTimeoutMs: 1_000,
      maxHttpInFlight: 2,
      maxBrowserInFlight: 2,
    });
    try {
      const attempts = await none.round(
        [journey('home', [goto('/')]), VerificationCheck.parse({ kind: 'http', name: 'api', url: `${pages.url}/` })],
        1,
      );
      expect(attempts[0]!.failure).toMatchObject({ blame: 'verifier' });
      expect(attempts[0]!.failure!.error).toContain('no browser: Chromium at /nonexistent/chromium did not start');
      expect(attempts[1]).toMatchObject({ passed: true });
      expect(await none.browser.health()).toMatchObject({ ok: false });
    } finally {
      await none.close();
    }
  });
});

describe('any CDP endpoint', () => {
  let remote: Browser;
  beforeAll(async () => {
    // A "remote" Chrome: a browser someone else started, reached over CDP only.
    remote = await puppeteer.launch({ executablePath: chromium, headless: true, args: [...chromiumArgs, '--remote-debugging-port=0'] });
  });
  afterAll(async () => {
    await remote?.close();
  });

  it('connects per check over ws:// (as Lightpanda needs) and shared over http://', async () => {
    const ws = remote.wsEndpoint();
    const http = `http://${new URL(ws).host}`;
    for (const browser of [
      { kind: 'connect' as const, endpoint: ws, perCheck: true },
      { kind: 'connect' as const, endpoint: http, perCheck: false },
    ]) {
      const over = createSwarm({ browser, httpTimeoutMs: 5_000, stepTimeoutMs: 15_000, maxHttpInFlight: 2, maxBrowserInFlight: 2 });
      try {
        const attempts = await over.round([journey('home', [goto('/'), { do: 'expectText', value: 'Welcome' }])], 2);
        expect(attempts.map((a) => a.passed)).toEqual([true, true]);
      } finally {
        await over.close();
      }
      // Disconnecting is not closing: the remote browser is still there, with no context left behind.
      expect(remote.connected).toBe(true);
      expect(remote.browserContexts()).toHaveLength(1);
    }
  });
});
