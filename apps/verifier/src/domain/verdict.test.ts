import { describe, expect, it } from 'vitest';
import { completion, decide, maxFailuresReported, percentile, summarizeRound, type Attempt, type RoundSummary } from './verdict.js';

const pass = (latencyMs = 10, check = 'home'): Attempt => ({ check, passed: true, latencyMs });
const fail = (blame: 'service' | 'verifier' = 'service', extra: Partial<Attempt['failure']> = {}, check = 'home'): Attempt => ({
  check,
  passed: false,
  latencyMs: 50,
  failure: { blame, check, error: blame === 'service' ? 'status 500, expected 200' : 'browser lost', ...extra },
});

const passing = summarizeRound([pass(), pass()]);
const failing = summarizeRound([pass(), fail('service', { status: 500 })]);
const crashed = summarizeRound([pass(), fail('verifier')]);

describe('percentile (nearest rank)', () => {
  it('reads the ranks of unsorted values and is 0 for none', () => {
    const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(100);
    expect(percentile(values, 10)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });
});

describe('summarizeRound', () => {
  it('counts attempts and keeps each distinct failure once, without the blame', () => {
    const round = summarizeRound([pass(), fail(), fail(), fail('service', { status: 502 }), fail('verifier')]);
    expect(round).toMatchObject({ attempts: 5, passedAttempts: 1, fullyPassed: false, inconclusive: false });
    expect(round.failures).toHaveLength(3);
    expect(round.failures[0]).toEqual({ check: 'home', error: 'status 500, expected 200' });
    expect(round.failures.every((f) => !('blame' in f))).toBe(true);
  });

  it('a round whose only failures are the verifier’s own is inconclusive', () => {
    expect(crashed.inconclusive).toBe(true);
    expect(failing.inconclusive).toBe(false);
    expect(passing.inconclusive).toBe(false);
  });

  it('caps the failures and their excerpts', () => {
    const many = Array.from({ length: 50 }, (_, i) => fail('service', { status: 500, excerpt: `${i} ${'x'.repeat(2000)}` }));
    const round = summarizeRound(many);
    expect(round.failures).toHaveLength(maxFailuresReported);
    expect(round.failures[0]?.excerpt?.length).toBe(500);
  });

  it('an empty round is not a passing one', () => {
    expect(summarizeRound([]).fullyPassed).toBe(false);
  });
});

describe('decide: baseline (passed = the service is healthy)', () => {
  const baseline = (rounds: RoundSummary[], deadline = false, k = 1) => decide('baseline', k, rounds, deadline);

  it('one passing round is healthy; one failing round confirms the failure', () => {
    expect(baseline([passing])).toEqual({ done: true, passed: true });
    expect(baseline([failing])).toEqual({ done: true, passed: false });
  });

  it('with K > 1, keeps going while rounds pass and stops at the first failing one', () => {
    expect(baseline([passing], false, 3)).toEqual({ done: false });
    expect(baseline([passing, failing], false, 3)).toEqual({ done: true, passed: false });
    expect(baseline([passing, passing, passing], false, 3)).toEqual({ done: true, passed: true });
  });

  it('a crashed browser proves nothing: the round runs again; the deadline with nothing conclusive is "unavailable"', () => {
    expect(baseline([crashed])).toEqual({ done: false });
    expect(baseline([crashed, failing])).toEqual({ done: true, passed: false });
    expect(baseline([crashed, crashed], true)).toEqual({ done: true, unavailable: true });
    expect(baseline([], true)).toEqual({ done: true, unavailable: true });
  });

  it('at the deadline with passing rounds but fewer than K, no failure was seen: healthy', () => {
    expect(baseline([passing, crashed], true, 3)).toEqual({ done: true, passed: true });
  });
});

describe('decide: proof (passed = K consecutive fully passing rounds)', () => {
  const proof = (rounds: RoundSummary[], deadline = false, k = 3) => decide('proof', k, rounds, deadline);

  it('needs K passing rounds in a row; a failure in between restarts the count', () => {
    expect(proof([passing, passing])).toEqual({ done: false });
    expect(proof([passing, passing, failing, passing, passing])).toEqual({ done: false });
    expect(proof([failing, failing, passing, passing, passing])).toEqual({ done: true, passed: true });
  });

  it('a crashed browser breaks the streak too: only rounds that saw the fix work count', () => {
    expect(proof([passing, crashed, passing, passing])).toEqual({ done: false });
  });

  it('the deadline without the streak is a failed proof, even when the last rounds passed', () => {
    expect(proof([failing, passing, passing], true)).toEqual({ done: true, passed: false });
    expect(proof([failing, passing, passing, passing], true)).toEqual({ done: true, passed: true });
  });
});

describe('completion', () => {
  it('pass ratio and latency over every attempt of every round; no failures reported when it passed', () => {
    const result = completion('proof', true, [failing, passing, passing]);
    expect(result).toMatchObject({ mode: 'proof', passed: true, rounds: 3, passRatio: 0.8333, failures: [] });
    expect(result.latencyMs).toEqual({ p50: 10, p95: 50 });
  });

  it('a failed verification carries the last failing round’s failures', () => {
    const older = summarizeRound([fail('service', { status: 502 })]);
    const result = completion('proof', false, [older, passing, failing, passing]);
    expect(result.failures).toEqual([{ check: 'home', error: 'status 500, expected 200', status: 500 }]);
    expect(result.passRatio).toBe(0.7143);
  });
});
