import { describe, expect, it } from 'vitest';
import { Hypothesis } from '@vigil/events';
import type { Finding, ProbeReport } from './findings.js';
import { categoryOfNote, combine, hypothesisFromProbes, type ClericView } from './hypothesis.js';

const lock: Finding = {
  category: 'postgres-lock',
  source: 'postgres.blocking',
  rootCause: 'A Postgres session, pid 4242, holds locks that 37 sessions wait on.',
  summary: 'pid 4242 blocks 37 sessions',
  facts: { blocker_pid: 4242, waiting: 37 },
  confidence: 0.9,
};
const redisMemory: Finding = {
  ...lock,
  category: 'redis-memory',
  source: 'redis.memory',
  rootCause: 'Redis is out of memory.',
  facts: { memory_ratio: 0.99 },
  confidence: 0.85,
};
const symptom: Finding = {
  ...lock,
  category: 'http-symptom',
  source: 'http.health',
  rootCause: 'the health endpoint answered 503 in 12ms',
  facts: {},
  confidence: 0.3,
};

const postgres = (findings: Finding[], over: Partial<ProbeReport> = {}): ProbeReport => ({
  probe: 'postgres',
  target: 'postgres://probe:***@db/payments',
  findings,
  observations: findings.length ? [] : [{ source: 'postgres.observed', summary: 'database payments: all quiet', facts: {} }],
  checked: ['postgres-lock', 'postgres-idle', 'postgres-connections'],
  ...over,
});
const http = (findings: Finding[]): ProbeReport => ({
  probe: 'http',
  target: 'http://api/health',
  findings,
  observations: [],
  checked: ['http-symptom'],
});
const redis = (findings: Finding[]): ProbeReport => ({
  probe: 'redis',
  target: 'redis://cache',
  findings,
  observations: [],
  checked: ['redis-memory', 'redis-clients'],
});
const failed = (probe: ProbeReport['probe']): ProbeReport => ({
  probe,
  target: `${probe}://x`,
  findings: [],
  observations: [],
  checked: [],
  failure: 'connect ECONNREFUSED',
});

const note = (over: Partial<ClericView> = {}): ClericView => ({
  rootCause: 'Lock contention on the orders table: pid 4242 holds a row lock.',
  confidence: 0.8,
  evidence: [{ source: 'cleric', summary: 'pid 4242 idle in transaction', facts: { blocker_pid: 4242 } }],
  affectedServices: ['payment-api'],
  flags: [],
  ...over,
});

describe('the probes’ hypothesis', () => {
  it('the strongest cause leads, its evidence first (so runbooks bind to it); symptoms support', () => {
    const h = hypothesisFromProbes('payment-api', [http([symptom]), postgres([lock])]);
    expect(Hypothesis.parse(h)).toEqual(h);
    expect(h).toMatchObject({ rootCause: lock.rootCause, confidence: 0.9, origin: 'probes', affectedServices: ['payment-api'], flags: [] });
    expect(h.evidence.map((e) => e.source)).toEqual(['postgres.blocking', 'http.health']);
  });

  it('two strong causes in unrelated systems: ambiguous, and less sure', () => {
    const h = hypothesisFromProbes('payment-api', [postgres([lock]), redis([redisMemory])]);
    expect(h.flags).toContain('ambiguous');
    expect(h.confidence).toBe(0.8);
    expect(h.rootCause).toMatch(/Equally likely: Redis is out of memory/);
  });

  it('a probe that could not run is evidence, and lowers confidence', () => {
    const h = hypothesisFromProbes('payment-api', [postgres([lock]), failed('redis')]);
    expect(h.confidence).toBe(0.81);
    expect(h.evidence.at(-1)?.summary).toBe('could not probe redis at redis://x: connect ECONNREFUSED');
  });

  it('only a symptom, nothing found, nothing reachable, nothing configured: low confidence, said plainly', () => {
    expect(hypothesisFromProbes('api', [http([symptom])])).toMatchObject({ confidence: 0.3, flags: ['low_confidence'] });
    expect(hypothesisFromProbes('api', [postgres([])])).toMatchObject({ confidence: 0.1, flags: ['no_evidence', 'low_confidence'] });
    expect(hypothesisFromProbes('api', [failed('postgres')]).rootCause).toMatch(/No probe of api could run/);
    expect(hypothesisFromProbes('api', []).rootCause).toBe('No probe is configured for api in the service catalog: nothing was checked.');
  });
});

describe('probes and Cleric together', () => {
  it('agreement on the system and the pid raises confidence', () => {
    const h = combine('payment-api', [postgres([lock])], note());
    expect(h).toMatchObject({ origin: 'combined', flags: [], confidence: 0.98 });
    expect(h.evidence[0]?.source).toBe('postgres.blocking');
    expect(h.evidence.map((e) => e.source)).toContain('cleric');
  });

  it('the same system but a different pid is a conflict', () => {
    const h = combine(
      'payment-api',
      [postgres([lock])],
      note({ evidence: [{ source: 'cleric', summary: 'pid 77', facts: { blocker_pid: 77 } }] }),
    );
    expect(h.flags).toContain('conflicting_sources');
    expect(h.rootCause).toMatch(/Cleric blames pid 77, the probes pid 4242/);
    expect(h.confidence).toBeLessThanOrEqual(0.6);
  });

  it('different systems conflict', () => {
    const h = combine('payment-api', [redis([redisMemory])], note());
    expect(h.flags).toContain('conflicting_sources');
  });

  it('Cleric blames a lock the lock probe checked and found clean: conflict', () => {
    const h = combine('payment-api', [postgres([])], note());
    expect(h.flags).toContain('conflicting_sources');
    expect(h.confidence).toBe(0.5);
  });

  it('Cleric blames a system no probe could check: Cleric’s hypothesis stands', () => {
    const h = combine('payment-api', [failed('postgres')], note({ confidence: 0.7 }));
    expect(h).toMatchObject({ rootCause: note().rootCause, confidence: 0.7, origin: 'combined', flags: [] });
  });

  it('a hedged note neither confirms nor contradicts', () => {
    const hedged = note({ flags: ['ambiguous'], confidence: 0.25, rootCause: 'Possibly a lock, or possibly the network.' });
    expect(combine('payment-api', [postgres([lock])], hedged)).toMatchObject({ confidence: 0.9, flags: [] });
    expect(combine('payment-api', [postgres([])], hedged).flags).toEqual(expect.arrayContaining(['ambiguous', 'low_confidence']));
  });

  it('several services named: multiple_services', () => {
    expect(combine('payment-api', [postgres([lock])], note({ affectedServices: ['payment-api', 'checkout'] })).flags).toContain(
      'multiple_services',
    );
  });

  it('reads the system a note blames', () => {
    expect(categoryOfNote(note({ evidence: [], rootCause: 'Connection pool exhausted on payments-db' }))).toBe('postgres-connections');
    expect(categoryOfNote(note({ evidence: [], rootCause: 'A session sat idle in transaction for 20 minutes' }))).toBe('postgres-idle');
    expect(categoryOfNote(note({ evidence: [], rootCause: 'Redis hit maxmemory and evicts keys' }))).toBe('redis-memory');
    expect(categoryOfNote(note({ evidence: [], rootCause: 'A bad deploy of v2.3.1' }))).toBeUndefined();
  });
});
