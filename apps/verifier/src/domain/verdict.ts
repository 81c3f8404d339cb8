import type { VerificationCompleted } from '@vigil/events';

/** Evidence of one failed attempt, as `verification.completed` carries it. */
export interface Failure {
  check: string;
  status?: number;
  excerpt?: string;
  screenshotPath?: string;
  error?: string;
}

/**
 * One run of one check. `blame` tells whose fault a failure was: `service` (a wrong status, a
 * timeout, missing text, a refused connection) or `verifier` (our browser crashed or could not
 * be had) — the latter says nothing about the service.
 */
export interface Attempt {
  check: string;
  passed: boolean;
  latencyMs: number;
  failure?: Failure & { blame: 'service' | 'verifier' };
}

export interface RoundSummary {
  attempts: number;
  passedAttempts: number;
  /** Every attempt passed. */
  fullyPassed: boolean;
  /** Failures, all of them the verifier's own: no evidence either way about the service. */
  inconclusive: boolean;
  latenciesMs: number[];
  failures: Failure[];
}

export type Mode = VerificationCompleted['mode'];

/** The most failures one answer carries: evidence, not a log (the event must stay small). */
export const maxFailuresReported = 20;
const maxExcerptChars = 500;

/** Nearest-rank percentile (p in (0, 100]) of unsorted values; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** A round's attempts → its summary; failures de-duplicated by their evidence, then capped. */
export function summarizeRound(attempts: readonly Attempt[]): RoundSummary {
  const failed = attempts.filter((a) => !a.passed);
  const seen = new Set<string>();
  const failures: Failure[] = [];
  for (const attempt of failed) {
    if (!attempt.failure) continue;
    const { blame: _blame, ...failure } = attempt.failure;
    const key = JSON.stringify([failure.check, failure.status, failure.error, failure.excerpt]);
    if (seen.has(key) || failures.length >= maxFailuresReported) continue;
    seen.add(key);
    failures.push(failure.excerpt === undefined ? failure : { ...failure, excerpt: failure.excerpt.slice(0, maxExcerptChars) });
  }
  return {
    attempts: attempts.length,
    passedAttempts: attempts.length - failed.length,
    fullyPassed: attempts.length > 0 && failed.length === 0,
    inconclusive: failed.length > 0 && failed.every((a) => a.failure?.blame === 'verifier'),
    latenciesMs: attempts.map((a) => a.latencyMs),
    failures,
  };
}

export type Decision = { done: false } | { done: true; passed: boolean } | { done: true; unavailable: true };

/**
 * What the rounds so far mean. The saga reads `passed` as "the service is healthy":
 *
 * - baseline (before a fix): a conclusive failing round confirms the failure (not passed);
 *   `consecutivePasses` fully passing rounds, or a deadline reached with no failure seen, mean
 *   healthy (passed: the saga escalates instead of running a fix). A round whose failures are
 *   all the verifier's own (a crashed browser) proves nothing and is run again; if no round is
 *   conclusive before the deadline, the verifier is unavailable — never a reason to run a fix.
 * - proof (after a fix): `consecutivePasses` fully passing rounds in a row (passed), else keep
 *   going until the deadline (not passed). Any failure, the verifier's own included, breaks the
 *   streak: a fix is proven only by rounds that saw it work.
 */
export function decide(mode: Mode, consecutivePasses: number, rounds: readonly RoundSummary[], deadlineReached: boolean): Decision {
  const last = rounds.at(-1);
  if (!last) return deadlineReached ? { done: true, unavailable: true } : { done: false };
  const streak = passingStreak(rounds);
  if (streak >= consecutivePasses) return { done: true, passed: true };
  if (mode === 'proof') return deadlineReached ? { done: true, passed: false } : { done: false };
  if (!last.fullyPassed && !last.inconclusive) return { done: true, passed: false };
  if (!deadlineReached) return { done: false };
  return rounds.some((r) => !r.inconclusive) ? { done: true, passed: true } : { done: true, unavailable: true };
}

/** Fully passing rounds at the end, in a row. */
export function passingStreak(rounds: readonly RoundSummary[]): number {
  let streak = 0;
  for (let i = rounds.length - 1; i >= 0 && rounds[i]?.fullyPassed; i--) streak++;
  return streak;
}

/**
 * The answer: pass ratio and latency over every attempt of every round; the failures of the last
 * round that failed, and only when the verification did not pass (they are what made it fail).
 */
export function completion(mode: Mode, passed: boolean, rounds: readonly RoundSummary[]): VerificationCompleted {
  const attempts = rounds.reduce((n, r) => n + r.attempts, 0);
  const passedAttempts = rounds.reduce((n, r) => n + r.passedAttempts, 0);
  const latencies = rounds.flatMap((r) => r.latenciesMs);
  const lastFailing = [...rounds].reverse().find((r) => !r.fullyPassed);
  return {
    mode,
    passed,
    passRatio: attempts === 0 ? 0 : Math.round((passedAttempts / attempts) * 10_000) / 10_000,
    rounds: rounds.length,
    latencyMs: { p50: Math.round(percentile(latencies, 50)), p95: Math.round(percentile(latencies, 95)) },
    failures: passed ? [] : (lastFailing?.failures ?? []),
  };
}
