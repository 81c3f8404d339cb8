import { access, constants } from 'node:fs/promises';
import puppeteer, { type Browser, type BrowserContext } from 'puppeteer-core';
import { VigilError } from '@vigil/errors';

/**
 * Where browsers come from: a local Chromium this process launches (one process, kept, relaunched
 * when it dies), or any CDP endpoint (Lightpanda, a remote Chrome). Lightpanda allows one browser
 * context per connection, so `perCheck` opens a connection for each check; a remote Chrome is
 * fine either way.
 */
export type BrowserSource =
  { kind: 'launch'; executablePath: string; args?: readonly string[] } | { kind: 'connect'; endpoint: string; perCheck: boolean };

export interface BrowserPoolOptions {
  source: BrowserSource;
  /** How long one CDP call may take before it fails (a wedged browser must not hang a round). */
  protocolTimeoutMs: number;
  onEvent?: (event: { kind: 'launched' | 'connected' | 'lost'; pid?: number }) => void;
}

/** Flags for Chromium as root in a container or CI: no sandbox, no GPU, no /dev/shm. */
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'];

/** Thrown when no browser could be had: the verifier's failure, not the service's. */
export const browserUnavailable = (why: string, cause?: unknown) =>
  new VigilError('VERIFIER_BROWSER_UNAVAILABLE', `no browser: ${why}`, { retryable: true, cause });

/**
 * One browser for the whole process, an isolated browser context per check (cookies, storage
 * and cache are never shared between checks), closed after. A browser that crashes or
 * disconnects is forgotten and the next check gets a fresh one: never fatal.
 */
export class BrowserPool {
  private browser: Browser | undefined;
  private starting: Promise<Browser> | undefined;
  private closed = false;
  /** Browsers lost (crashed, killed, disconnected) since the pool started. */
  lost = 0;

  constructor(private readonly options: BrowserPoolOptions) {}

  /** The launched Chromium's process id, while one runs. */
  pid(): number | undefined {
    return this.browser?.process()?.pid;
  }

  /** Contexts open on the shared browser besides its default one: the checks running now. */
  openContexts(): number {
    const browser = this.browser;
    return browser?.connected ? browser.browserContexts().length - 1 : 0;
  }

  /** Runs `work` in a fresh browser context and closes the context (and a per-check connection) after. */
  async withContext<T>(work: (context: BrowserContext, browser: Browser) => Promise<T>): Promise<T> {
    if (this.closed) throw browserUnavailable('the verifier is stopping');
    const { source } = this.options;
    const perCheck = source.kind === 'connect' && source.perCheck;
    const browser = perCheck ? await this.connect(source.endpoint) : await this.shared();
    let context: BrowserContext;
    try {
      context = await browser.createBrowserContext();
    } catch (error) {
      if (perCheck) await browser.disconnect().catch(() => undefined);
      throw browserUnavailable(`no browser context (${(error as Error).message})`, error);
    }
    try {
      return await work(context, browser);
    } finally {
      if (browser.connected) await context.close().catch(() => undefined);
      if (perCheck) await browser.disconnect().catch(() => undefined);
    }
  }

  /** For readiness: can a browser be had, without starting one. */
  async health(): Promise<{ ok: boolean; detail: string }> {
    const { source } = this.options;
    if (source.kind === 'connect') return { ok: true, detail: `CDP endpoint ${redactEndpoint(source.endpoint)}` };
    try {
      await access(source.executablePath, constants.X_OK);
    } catch {
      return { ok: false, detail: `no executable Chromium at ${source.executablePath} (set CHROMIUM_PATH)` };
    }
    const pid = this.pid();
    return { ok: true, detail: `${source.executablePath}${pid ? ` (pid ${pid})` : ' (not started yet)'}; ${this.lost} lost` };
  }

  async close(): Promise<void> {
    this.closed = true;
    const browser = this.browser ?? (await this.starting?.catch(() => undefined));
    this.browser = undefined;
    if (!browser) return;
    if (this.options.source.kind === 'launch') await browser.close().catch(() => undefined);
    else await browser.disconnect().catch(() => undefined);
  }

  /** The shared browser; started once however many checks ask at the same moment. */
  private async shared(): Promise<Browser> {
    if (this.browser?.connected) return this.browser;
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<Browser> {
    const { source } = this.options;
    const browser = source.kind === 'launch' ? await this.launch(source) : await this.connect(source.endpoint);
    if (this.closed) {
      await (source.kind === 'launch' ? browser.close() : browser.disconnect()).catch(() => undefined);
      throw browserUnavailable('the verifier is stopping');
    }
    browser.once('disconnected', () => {
      if (this.browser === browser) this.browser = undefined;
      if (this.closed) return;
      this.lost += 1;
      this.options.onEvent?.({ kind: 'lost' });
    });
    this.browser = browser;
    return browser;
  }

  private async launch(source: Extract<BrowserSource, { kind: 'launch' }>): Promise<Browser> {
    try {
      const browser = await puppeteer.launch({
        executablePath: source.executablePath,
        headless: true, // puppeteer passes --headless=new
        args: [...chromiumArgs, ...(source.args ?? [])],
        protocolTimeout: this.options.protocolTimeoutMs,
        // The service decides when to stop; puppeteer must not close the browser on its own.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      this.options.onEvent?.({ kind: 'launched', ...(browser.process()?.pid ? { pid: browser.process()?.pid } : {}) });
      return browser;
    } catch (error) {
      throw browserUnavailable(`Chromium at ${source.executablePath} did not start (${(error as Error).message.split('\n')[0]})`, error);
    }
  }

  private async connect(endpoint: string): Promise<Browser> {
    try {
      const url = new URL(endpoint);
      const browser = await puppeteer.connect({
        ...(url.protocol === 'ws:' || url.protocol === 'wss:' ? { browserWSEndpoint: endpoint } : { browserURL: endpoint }),
        protocolTimeout: this.options.protocolTimeoutMs,
        defaultViewport: { width: 1280, height: 800 },
      });
      if (!(this.options.source.kind === 'connect' && this.options.source.perCheck)) this.options.onEvent?.({ kind: 'connected' });
      return browser;
    } catch (error) {
      throw browserUnavailable(`CDP endpoint ${redactEndpoint(endpoint)} did not answer (${(error as Error).message})`, error);
    }
  }
}

/** A CDP URL may carry a token in its query (hosted browsers): never log it. */
export function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.search) url.search = '?…';
    if (url.password) url.password = '…';
    return url.toString();
  } catch {
    return '(not a URL)';
  }
}
