import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ConnectionClosedError, type Browser, type BrowserContext, type HTTPResponse, type Page } from 'puppeteer-core';
import { isVigilError } from '@vigil/errors';
import type { VerificationCheck } from '@vigil/events';
import type { Attempt } from '../domain/verdict.js';
import type { BrowserPool } from './browser-pool.js';

export type BrowserCheck = Extract<VerificationCheck, { kind: 'browser' }>;
type Step = BrowserCheck['steps'][number];

export interface JourneyOptions {
  /** How long one step (a navigation, waiting for an element or a text) may take. */
  stepTimeoutMs: number;
  /** Where failure screenshots go; none are taken when absent. */
  screenshotDir?: string;
  /** Asked once per failed attempt: may this one take a screenshot (the swarm keeps it to one per check per round). */
  mayScreenshot?: (check: string) => boolean;
}

const excerptChars = 300;

/** The DOM as the page functions below see it (the project compiles without the DOM library). */
interface PageElement {
  innerText?: string;
  textContent: string | null;
}
interface PageDocument {
  body: PageElement | null;
  querySelector(selector: string): PageElement | null;
}

/** Runs in the page: the text of `selector` (or the body), as a user would read it. */
function pageText(selector: string | null): string {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  const element = selector ? doc.querySelector(selector) : doc.body;
  return element ? (element.innerText ?? element.textContent ?? '') : '';
}

/** Runs in the page: whether `text` shows in `selector` (or the body). Kept self-contained: it is sent as source. */
function pageHasText(selector: string | null, text: string): boolean {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  const element = selector ? doc.querySelector(selector) : doc.body;
  return !!element && (element.innerText ?? element.textContent ?? '').includes(text);
}

class StepFailed extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * One browser journey in its own browser context: each step in order, the main frame's last
 * navigation status remembered for `expectStatus`. On failure: the step and why, the status,
 * the page's text, and a screenshot where the browser can take one. A failure caused by the
 * browser itself (crashed, disconnected, none to be had) is blamed on the verifier.
 */
export async function runBrowserCheck(pool: BrowserPool, check: BrowserCheck, options: JourneyOptions): Promise<Attempt> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    return await pool.withContext(async (context, browser) => {
      let page: Page;
      try {
        page = await context.newPage();
      } catch (error) {
        // No page to run the journey in (the browser is overloaded or going away): nothing learnt about the service.
        return verifierFailure(check.name, elapsed(), error, 'no page could be opened');
      }
      let status: number | undefined;
      page.on('response', (response: HTTPResponse) => {
        if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) status = response.status();
      });
      try {
        for (const [index, step] of check.steps.entries()) {
          await runStep(page, step, options.stepTimeoutMs, () => status).catch((error: unknown) => {
            throw error instanceof StepFailed
              ? new StepFailed(`step ${index + 1} (${step.do}): ${error.message}`, error.status)
              : annotate(error, `step ${index + 1} (${step.do})`);
          });
        }
        return { check: check.name, passed: true, latencyMs: elapsed() };
      } catch (error) {
        const latencyMs = elapsed();
        if (isBrowserLost(error, browser)) return verifierFailure(check.name, latencyMs, error);
        const evidence = await collectEvidence(page, check.name, context, options);
        return {
          check: check.name,
          passed: false,
          latencyMs,
          failure: {
            blame: 'service',
            check: check.name,
            error: (error as Error).message.split('\n')[0] ?? String(error),
            ...(status === undefined ? {} : { status }),
            ...evidence,
          },
        };
      }
    });
  } catch (error) {
    // No browser or no context: nothing was learnt about the service.
    return verifierFailure(check.name, elapsed(), error);
  }
}

async function runStep(page: Page, step: Step, timeout: number, lastStatus: () => number | undefined): Promise<void> {
  const target = step.target ?? '';
  switch (step.do) {
    case 'goto': {
      await page.goto(step.target ?? step.value ?? '', { waitUntil: 'load', timeout });
      return;
    }
    case 'click':
      await page.waitForSelector(target, { visible: true, timeout });
      await page.click(target);
      return;
    case 'type':
      await page.waitForSelector(target, { visible: true, timeout });
      await page.type(target, step.value ?? '');
      return;
    case 'waitFor':
      await page.waitForSelector(target, { timeout });
      return;
    case 'expectText': {
      const text = step.value ?? '';
      // Waits for the text (it may arrive with a navigation the previous click started).
      await page.waitForFunction(pageHasText, { timeout }, step.target ?? null, text).catch((error: unknown) => {
        if ((error as Error).name !== 'TimeoutError') throw error;
        throw new StepFailed(`${JSON.stringify(text)} not found${step.target ? ` in ${step.target}` : ''} within ${timeout} ms`);
      });
      return;
    }
    case 'expectStatus': {
      const expected = Number(step.value);
      const status = lastStatus();
      if (status === undefined) throw new StepFailed(`no page loaded, expected status ${expected}`);
      if (status !== expected) throw new StepFailed(`status ${status}, expected ${expected}`, status);
      return;
    }
  }
}

async function collectEvidence(
  page: Page,
  check: string,
  context: BrowserContext,
  options: JourneyOptions,
): Promise<{ excerpt?: string; screenshotPath?: string }> {
  const timeout = Math.min(options.stepTimeoutMs, 5_000);
  const text = await bounded(page.evaluate(pageText, null), timeout);
  let screenshotPath: string | undefined;
  if (options.screenshotDir && !context.closed && (options.mayScreenshot?.(check) ?? true)) {
    const path = join(options.screenshotDir, `${slug(check)}-${Date.now()}-${randomUUID().slice(0, 8)}.png`);
    // Not every CDP browser can (Lightpanda returns a placeholder image): a missing one is no failure.
    if (await bounded(page.screenshot({ path, type: 'png' }), timeout)) screenshotPath = path;
  }
  const excerpt = typeof text === 'string' ? text.replace(/\s+/g, ' ').trim().slice(0, excerptChars) : undefined;
  return { ...(excerpt ? { excerpt } : {}), ...(screenshotPath ? { screenshotPath } : {}) };
}

/** The value, or undefined when it failed or took longer than `ms`. */
async function bounded<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isBrowserLost(error: unknown, browser: Browser): boolean {
  if (!browser.connected || error instanceof ConnectionClosedError) return true;
  const message = error instanceof Error ? error.message : '';
  return /Target closed|Session closed|Connection closed|Navigating frame was detached|browser has disconnected/i.test(message);
}

function verifierFailure(check: string, latencyMs: number, error: unknown, why = 'browser lost during the check'): Attempt {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return {
    check,
    passed: false,
    latencyMs,
    failure: {
      blame: 'verifier',
      check,
      error: isVigilError(error) ? message : `${why}: ${message}`,
    },
  };
}

function annotate(error: unknown, where: string): Error {
  if (!(error instanceof Error)) return new Error(`${where}: ${String(error)}`);
  error.message = `${where}: ${error.message}`;
  return error;
}

const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60) || 'check';
