import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser } from 'puppeteer-core';
import { Agent, request } from 'undici';
import { VerificationCheck } from '@vigil/events';
import { chromiumArgs, createSwarm, type Swarm } from '@vigil/verifier';
import { lanes, round, type Benchmark } from './harness.js';

const BROWSER_CHECKS = Number(process.env.BENCH_VERIFIER_BROWSER_CHECKS ?? 100);
const HTTP_CHECKS = Number(process.env.BENCH_VERIFIER_HTTP_CHECKS ?? 1000);
const HTTP_IN_FLIGHT = 256; // the verifier's default VERIFIER_MAX_HTTP_IN_FLIGHT
/**
 * Browser contexts open at once (the verifier's default VERIFIER_MAX_BROWSER_IN_FLIGHT). All 100
 * checks are asked for at once; each open context is a Chromium renderer process, and on a 2-core
 * machine 100 renderers starting together outlast puppeteer's fixed 30 s wait for a new page, on
 * the bare side as much as in the swarm. Raise it on a larger machine.
 */
const BROWSER_IN_FLIGHT = Number(process.env.BENCH_VERIFIER_BROWSER_IN_FLIGHT ?? 16);
const REPEATS = Number(process.env.BENCH_VERIFIER_REPEATS ?? 2);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TEXT = 'Welcome to the shop';
/** Generous for both sides alike: 100 pages at once on a small shared machine are slow, and a bench must not fail on it. */
const LIMIT_MS = 300_000;
const MiB = 2 ** 20;

/** The service under check: a small local page, as a health page or a storefront would be. */
async function startPage(): Promise<{ url: string; server: Server }> {
  const body = `<!doctype html><html><head><title>shop</title></head><body><h1>${TEXT}</h1><p>${'lorem ipsum '.repeat(50)}</p></body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** Memory of a process and all its descendants (Chromium is a tree of processes), in bytes; Linux only, else 0. */
function treeRss(root: number | undefined): number {
  if (!root) return 0;
  try {
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    let total = 0;
    for (const pid of parents.keys()) {
      let p: number | undefined = pid;
      while (p && p !== root) p = parents.get(p);
      if (p !== root) continue;
      try {
        // Proportional set size: memory shared between Chromium's processes is counted once, not per process.
        const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
        total += pss ? Number(pss[1]) * 1024 : Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
      } catch {
        // gone meanwhile
      }
    }
    return total;
  } catch {
    return 0;
  }
}

/** Times `work` while sampling this process's RSS and the browser tree's. */
async function measured(work: () => Promise<void>, browserPid: () => number | undefined) {
  let nodePeak = process.memoryUsage.rss();
  let browserPeak = treeRss(browserPid());
  const sampler = setInterval(() => {
    nodePeak = Math.max(nodePeak, process.memoryUsage.rss());
  }, 50);
  // Walking /proc is not free (hundreds of Chromium processes): sampled less often.
  const browserSampler = setInterval(() => {
    browserPeak = Math.max(browserPeak, treeRss(browserPid()));
  }, 500);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(sampler);
    clearInterval(browserSampler);
  }
  return { ms: performance.now() - started, nodePeak, browserPeak };
}

/** The swarm's round: BROWSER_CHECKS copies of one journey asked at once, each in its own context, BROWSER_IN_FLIGHT open at a time. */
async function swarmBrowser(swarm: Swarm, check: VerificationCheck) {
  return measured(
    async () => {
      const attempts = await swarm.round([check], BROWSER_CHECKS);
      const failed = attempts.filter((a) => !a.passed);
      if (failed.length > 0) throw new Error(`${failed.length} swarm browser checks failed: ${failed[0]?.failure?.error}`);
    },
    () => swarm.browser.pid(),
  );
}

/** The same journeys with bare puppeteer-core, with the same bound: context, page, goto, wait for the text, close. */
async function bareBrowser(browser: Browser, url: string) {
  return measured(
    async () => {
      await lanes(BROWSER_CHECKS, BROWSER_IN_FLIGHT, async () => {
        const context = await browser.createBrowserContext();
        try {
          const page = await context.newPage();
          await page.goto(url, { waitUntil: 'load', timeout: LIMIT_MS });
          await page.waitForFunction(
            (text: string) =>
              (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes(text),
            { timeout: LIMIT_MS },
            TEXT,
          );
        } finally {
          await context.close();
        }
      });
    },
    () => browser.process()?.pid,
  );
}

async function swarmHttp(swarm: Swarm, check: VerificationCheck) {
  return measured(
    async () => {
      const attempts = await swarm.round([check], HTTP_CHECKS);
      const failed = attempts.filter((a) => !a.passed);
      if (failed.length > 0) throw new Error(`${failed.length} swarm HTTP checks failed: ${failed[0]?.failure?.error}`);
    },
    () => undefined,
  );
}

/** The same probes with bare undici: same pool settings, same bound, body read, status checked. */
async function bareHttp(agent: Agent, url: string) {
  return measured(
    async () => {
      await lanes(HTTP_CHECKS, HTTP_IN_FLIGHT, async () => {
        const response = await request(url, { dispatcher: agent });
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes(TEXT)) throw new Error(`bare probe: ${response.statusCode}`);
      });
    },
    () => undefined,
  );
}

type Run = Awaited<ReturnType<typeof measured>>;
const best = (runs: Run[]): Run => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
const peak = (runs: Run[], key: 'nodePeak' | 'browserPeak'): number => Math.round(Math.max(...runs.map((r) => r[key])) / MiB);

export const verifierBenchmark: Benchmark = {
  name: 'verifier: concurrent browser and HTTP checks',
  async run() {
    const { url, server } = await startPage();
    const swarm = createSwarm({
      browser: { kind: 'launch', executablePath: CHROMIUM },
      httpTimeoutMs: 30_000,
      stepTimeoutMs: LIMIT_MS,
      protocolTimeoutMs: LIMIT_MS,
      maxHttpInFlight: HTTP_IN_FLIGHT,
      maxBrowserInFlight: BROWSER_IN_FLIGHT,
    });
    const bare = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs,
      protocolTimeout: LIMIT_MS,
      timeout: LIMIT_MS,
    });
    const agent = new Agent({ keepAliveTimeout: 4_000 });
    const journey = VerificationCheck.parse({
      kind: 'browser',
      name: 'shop',
      steps: [
        { do: 'goto', target: url },
        { do: 'expectText', value: TEXT },
      ],
    });
    const probe = VerificationCheck.parse({ kind: 'http', name: 'shop', url, bodyContains: TEXT });
    try {
      // Warm both: browsers started, first page loaded, connections open.
      await swarm.round([journey, probe], 1);
      await bareBrowser(bare, url);
      await bareHttp(agent, url);
      const runs = { swarmBrowser: [] as Run[], bareBrowser: [] as Run[], swarmHttp: [] as Run[], bareHttp: [] as Run[] };
      // Alternated, best of each: the machine is shared and noisy.
      for (let i = 0; i < REPEATS; i++) {
        runs.bareBrowser.push(await bareBrowser(bare, url));
        runs.swarmBrowser.push(await swarmBrowser(swarm, journey));
        runs.bareHttp.push(await bareHttp(agent, url));
        runs.swarmHttp.push(await swarmHttp(swarm, probe));
      }
      const browserSwarm = best(runs.swarmBrowser);
      const browserBare = best(runs.bareBrowser);
      const httpSwarm = best(runs.swarmHttp);
      const httpBare = best(runs.bareHttp);
      return {
        name: this.name,
        figures: {
          browser_checks: BROWSER_CHECKS,
          browser_contexts_at_once: BROWSER_IN_FLIGHT,
          swarm_browser_ms: Math.round(browserSwarm.ms),
          bare_puppeteer_browser_ms: Math.round(browserBare.ms),
          swarm_browser_peak_node_rss_mib: peak(runs.swarmBrowser, 'nodePeak'),
          swarm_browser_peak_chromium_pss_mib: peak(runs.swarmBrowser, 'browserPeak'),
          bare_browser_peak_chromium_pss_mib: peak(runs.bareBrowser, 'browserPeak'),
          http_checks: HTTP_CHECKS,
          swarm_http_ms: Math.round(httpSwarm.ms),
          bare_undici_http_ms: Math.round(httpBare.ms),
          swarm_http_checks_per_s: Math.round((HTTP_CHECKS / httpSwarm.ms) * 1000),
          swarm_http_peak_node_rss_mib: peak(runs.swarmHttp, 'nodePeak'),
        },
        ratios: {
          browser_swarm_vs_bare_puppeteer: round(browserBare.ms / browserSwarm.ms),
          http_swarm_vs_bare_undici: round(httpBare.ms / httpSwarm.ms),
        },
        goals: { browser_swarm_vs_bare_puppeteer: 0.8 },
        notes: [
          `${BROWSER_CHECKS} journeys (goto + expect text) asked at once, ${BROWSER_IN_FLIGHT} contexts open at a time, each in its own browser context of one Chromium, vs the same with bare puppeteer-core on a second Chromium; best of ${REPEATS}, alternated`,
          `${HTTP_CHECKS} HTTP probes (status + body text), ${HTTP_IN_FLIGHT} in flight, vs bare undici with the same bound; peak RSS is this Node process's; Chromium's is the PSS of its whole process tree`,
        ],
      };
    } finally {
      await swarm.close();
      await bare.close();
      await agent.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
};
