import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { VigilError } from '@vigil/errors';
import type { VerificationCheck, VerificationCompleted, VerificationRequested } from '@vigil/events';
import { runBrowserCheck } from './checks/browser-check.js';
import { BrowserPool, type BrowserSource } from './checks/browser-pool.js';
import { runHttpCheck } from './checks/http-check.js';
import { completion, decide, summarizeRound, type Attempt, type RoundSummary } from './domain/verdict.js';
import { Limiter } from './limiter.js';

export interface SwarmOptions {
  browser: BrowserSource;
  /** The longest an HTTP probe waits for a complete answer. */
  httpTimeoutMs: number;
  /** The longest one browser step may take. */
  stepTimeoutMs: number;
  /** HTTP probes in flight at once in this process, across verifications. */
  maxHttpInFlight: number;
  /** Browser checks (contexts) open at once in this process, across verifications. */
  maxBrowserInFlight: number;
  /** Every CDP call's limit: a wedged browser fails the check instead of hanging the round. */
  protocolTimeoutMs?: number;
  /** Where failure screenshots go; none are taken when absent. */
  screenshotDir?: string;
  /** A longer deadline in a request is cut to this (the handler must end while JetStream waits for it). */
  maxDeadlineMs?: number;
  onBrowserEvent?: (event: { kind: 'launched' | 'connected' | 'lost'; pid?: number }) => void;
  onAttempt?: (kind: VerificationCheck['kind'], attempt: Attempt) => void;
}

export interface VerifyOptions {
  /** Called after each round (logs, metrics, tests). */
  onRound?: (round: RoundSummary, index: number) => void | Promise<void>;
}

export interface Swarm {
  /** One round: every check `concurrency` times, all at once within the process's bounds. */
  round(checks: readonly VerificationCheck[], concurrency: number): Promise<Attempt[]>;
  /** Rounds until the mode's verdict (see `decide`); throws VERIFIER_BROWSER_UNAVAILABLE when no round could say anything. */
  verify(request: VerificationRequested, options?: VerifyOptions): Promise<VerificationCompleted>;
  readonly browser: BrowserPool;
  close(): Promise<void>;
}

/**
 * The verification swarm: N concurrent copies of every check per round, HTTP probes through one
 * undici pool, browser journeys in isolated contexts of one browser, both bounded per process.
 */
export function createSwarm(options: SwarmOptions): Swarm {
  const browser = new BrowserPool({
    source: options.browser,
    protocolTimeoutMs: options.protocolTimeoutMs ?? 30_000,
    ...(options.onBrowserEvent ? { onEvent: options.onBrowserEvent } : {}),
  });
  const dispatcher = new Agent({ keepAliveTimeout: 4_000, connect: { timeout: options.httpTimeoutMs } });
  const http = new Limiter(options.maxHttpInFlight);
  const pages = new Limiter(options.maxBrowserInFlight);
  const screenshotDir = options.screenshotDir;
  const ready = screenshotDir ? mkdir(screenshotDir, { recursive: true }).then(() => true) : Promise.resolve(false);

  const round = async (checks: readonly VerificationCheck[], concurrency: number): Promise<Attempt[]> => {
    const screenshots = screenshotDir && (await ready.catch(() => false));
    const shot = new Set<string>();
    const journey = {
      stepTimeoutMs: options.stepTimeoutMs,
      ...(screenshots ? { screenshotDir } : {}),
      // One screenshot per check per round: a hundred copies of the same error page say nothing more.
      mayScreenshot: (check: string) => !shot.has(check) && !!shot.add(check),
    };
    const runs = checks.flatMap((check) => Array.from({ length: concurrency }, () => check));
    return Promise.all(
      runs.map(async (check) => {
        const attempt =
          check.kind === 'http'
            ? await http.run(() => runHttpCheck(check, { dispatcher, timeoutMs: options.httpTimeoutMs }))
            : await pages.run(() => runBrowserCheck(browser, check, journey));
        options.onAttempt?.(check.kind, attempt);
        return attempt;
      }),
    );
  };

  return {
    browser,
    round,
    async verify(request, verifyOptions = {}) {
      const deadlineMs = Math.min(request.deadlineMs, options.maxDeadlineMs ?? Number.POSITIVE_INFINITY);
      const started = performance.now();
      const rounds: RoundSummary[] = [];
      for (;;) {
        const summary = summarizeRound(await round(request.checks, request.concurrency));
        rounds.push(summary);
        await verifyOptions.onRound?.(summary, rounds.length);
        // No time left for another round after the pause: the deadline is as good as reached.
        const deadlineReached = performance.now() - started + request.roundIntervalMs >= deadlineMs;
        const decision = decide(request.mode, request.consecutivePasses, rounds, deadlineReached);
        if (decision.done) {
          if ('unavailable' in decision) {
            const last = rounds.at(-1)?.failures[0]?.error ?? 'no round completed';
            throw new VigilError('VERIFIER_BROWSER_UNAVAILABLE', `no round could check the service before the deadline: ${last}`, {
              retryable: true,
            });
          }
          return completion(request.mode, decision.passed, rounds);
        }
        await sleep(request.roundIntervalMs);
      }
    },
    async close() {
      await browser.close();
      await dispatcher.close();
    },
  };
}
