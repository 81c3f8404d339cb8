import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { emptyCatalog, type ServiceCatalog } from '@vigil/catalog';
import { VigilError } from '@vigil/errors';
import type { VerificationCheck, VerificationCompleted, VerificationRequested } from '@vigil/events';
import { runBrowserCheck } from './checks/browser-check.js';
import { BrowserPool, type BrowserSource } from './checks/browser-pool.js';
import { runHttpCheck } from './checks/http-check.js';
import { runPostgresCheck, type PostgresCheck } from './checks/postgres-check.js';
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
  /** Where a service's database is: its `postgres` target (a read-only probe DSN). Default: none. */
  catalog?: ServiceCatalog;
  /** A Postgres check's connect and statement timeout (default 5 s). */
  postgresTimeoutMs?: number;
  /** Postgres checks in flight at once in this process, across verifications (default 8). */
  maxPostgresInFlight?: number;
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
  /**
   * One round: every HTTP and browser check `concurrency` times and every Postgres check once, all
   * at once within the process's bounds. `service` names the catalog entry whose database the
   * Postgres checks read.
   */
  round(checks: readonly VerificationCheck[], concurrency: number, service?: string): Promise<Attempt[]>;
  /** Rounds until the mode's verdict (see `decide`); throws VERIFIER_BROWSER_UNAVAILABLE when no round could say anything. */
  verify(request: VerificationRequested, options?: VerifyOptions): Promise<VerificationCompleted>;
  readonly browser: BrowserPool;
  close(): Promise<void>;
}

/**
 * The verification swarm: N concurrent copies of every HTTP and browser check per round, HTTP
 * probes through one undici pool, browser journeys in isolated contexts of one browser; one read
 * of each Postgres check per round. Each kind is bounded per process.
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
  const databases = new Limiter(options.maxPostgresInFlight ?? 8);
  const catalog = options.catalog ?? emptyCatalog;
  const postgresTimeoutMs = options.postgresTimeoutMs ?? 5_000;
  const screenshotDir = options.screenshotDir;
  const ready = screenshotDir ? mkdir(screenshotDir, { recursive: true }).then(() => true) : Promise.resolve(false);

  const checkDatabase = (check: PostgresCheck, service: string | undefined): Promise<Attempt> => {
    const dsn = service === undefined ? undefined : catalog.get(service)?.postgres;
    // validate.ts refuses such a request first; this is only a guard for direct callers.
    if (!dsn) {
      const error = `the verifier's service catalog has no postgres target for ${service ?? 'an unnamed service'}`;
      return Promise.resolve({ check: check.name, passed: false, latencyMs: 0, failure: { blame: 'verifier', check: check.name, error } });
    }
    return databases.run(() => runPostgresCheck(check, { dsn, timeoutMs: postgresTimeoutMs }));
  };

  /**
   * One round. With `untilServiceFails` (a baseline), the round ends at the first attempt that
   * sees the service fail: that alone confirms the failure, and a journey that would only time out
   * behind the same fault adds nothing but its timeout to the time to repair. The attempts still
   * running finish in the background (their results are not needed).
   */
  const runRound = async (
    checks: readonly VerificationCheck[],
    concurrency: number,
    service: string | undefined,
    untilServiceFails: boolean,
  ): Promise<Attempt[]> => {
    const screenshots = screenshotDir && (await ready.catch(() => false));
    const shot = new Set<string>();
    const journey = {
      stepTimeoutMs: options.stepTimeoutMs,
      ...(screenshots ? { screenshotDir } : {}),
      // One screenshot per check per round: a hundred copies of the same error page say nothing more.
      mayScreenshot: (check: string) => !shot.has(check) && !!shot.add(check),
    };
    // A database's state is the same for every copy: a Postgres check is read once, not `concurrency` times.
    const runs = checks.flatMap((check) => Array.from({ length: check.kind === 'postgres' ? 1 : concurrency }, () => check));
    const done: Attempt[] = [];
    let serviceFailed: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (serviceFailed = resolve));
    const all = Promise.all(
      runs.map(async (check) => {
        const attempt =
          check.kind === 'http'
            ? await http.run(() => runHttpCheck(check, { dispatcher, timeoutMs: options.httpTimeoutMs }))
            : check.kind === 'postgres'
              ? await checkDatabase(check, service)
              : await pages.run(() => runBrowserCheck(browser, check, journey));
        options.onAttempt?.(check.kind, attempt);
        done.push(attempt);
        if (attempt.failure?.blame === 'service') serviceFailed();
        return attempt;
      }),
    );
    if (!untilServiceFails) return all;
    all.catch(() => undefined);
    await Promise.race([all, failed]);
    return [...done];
  };
  const round = (checks: readonly VerificationCheck[], concurrency: number, service?: string): Promise<Attempt[]> =>
    runRound(checks, concurrency, service, false);

  return {
    browser,
    round,
    async verify(request, verifyOptions = {}) {
      const deadlineMs = Math.min(request.deadlineMs, options.maxDeadlineMs ?? Number.POSITIVE_INFINITY);
      const started = performance.now();
      const rounds: RoundSummary[] = [];
      for (;;) {
        const summary = summarizeRound(await runRound(request.checks, request.concurrency, request.service, request.mode === 'baseline'));
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
