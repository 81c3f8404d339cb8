import { describe, expect, it } from 'vitest';
import { exampleData, IncidentResolved, type IncidentTriggered } from '@vigil/events';
import {
  afterFire,
  fireOf,
  incidentPassage,
  isDue,
  isLearnable,
  isRefire,
  learnFromResolution,
  standingAt,
  windowEndsAt,
  type AlertFire,
  type LearnedIncident,
} from './learning.js';

const hour = 3_600_000;
const resolvedAt = new Date('2026-11-22T10:00:00.000Z');
const at = (ms: number) => new Date(resolvedAt.getTime() + ms);
const resolved = IncidentResolved.parse(exampleData['incident.resolved']);

const learn = (data: Partial<IncidentResolved> = {}, windowMs = 24 * hour): LearnedIncident =>
  learnFromResolution({ id: 'evt-r', incidentId: 'inc-1', data: { ...resolved, ...data } }, windowMs);

const fire = (ms: number, overrides: Partial<AlertFire> = {}): AlertFire => ({
  eventId: `evt-${ms}`,
  service: 'payment-api',
  dedupKey: 'payment-api/HighLatency',
  alertName: 'HighLatency',
  firedAt: at(ms),
  ...overrides,
});

describe('the stability window', () => {
  it('ends the configured time after the resolution', () => {
    expect(windowEndsAt(resolvedAt, 24 * hour).toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(learn({}, 90_000).windowEndsAt).toEqual(at(90_000));
  });

  it('a remediated incident with a plan is a candidate with full provenance', () => {
    const record = learn();
    expect(record).toMatchObject({
      incidentId: 'inc-1',
      eventId: 'evt-r',
      standing: 'candidate',
      title: 'payment-api p95 latency above 2s',
      alertName: 'HighLatency',
      resolvedAt,
      provenance: {
        hypothesis: { rootCause: resolved.hypothesis!.rootCause, evidence: ['pid 4242 has held a lock for 95s; 37 sessions wait on it'] },
        plan: { steps: [{ action: 'postgres.terminate_backend' }] },
        verification: { checks: ['health'], proof: { passed: true, rounds: 3 } },
        mttrMs: 41_000,
      },
    });
  });

  it('external and manual resolutions, and a remediation without a plan, are history: never a fix to prove', () => {
    for (const data of [{ how: 'external' as const }, { how: 'manual' as const }, { plan: undefined }]) {
      const record = learn(data);
      expect(isLearnable({ ...resolved, ...data })).toBe(false);
      expect(record.standing).toBe('history');
      expect(record.windowEndsAt).toBeUndefined();
      expect(standingAt(record, at(1000 * hour))).toBe('history');
      expect(afterFire(record, fire(60_000), at(60_000))).toBeUndefined();
    }
  });

  it('an event from before the provenance fields still makes a titled record', () => {
    const { title: _t, alertName: _a, hypothesis: _h, verification: _v, ...bare } = resolved;
    const record = learnFromResolution({ id: 'e', incidentId: 'inc-2', data: bare }, hour);
    expect(record.title).toBe('payment-api: payment-api/HighLatency');
    expect(record.provenance).toEqual({ plan: resolved.plan, mttrMs: 41_000 });
  });
});

describe('re-fires', () => {
  const record = learn({}, hour);

  it('count when the same alert fires after the resolution and before the window ends', () => {
    expect(isRefire(record, fire(1))).toBe(true);
    expect(isRefire(record, fire(hour - 1))).toBe(true);
    // The window is open at both ends: the firing that opened the incident and a firing once it is over do not count.
    expect(isRefire(record, fire(0))).toBe(false);
    expect(isRefire(record, fire(-60_000))).toBe(false);
    expect(isRefire(record, fire(hour))).toBe(false);
  });

  it('the same alert is the same dedup key, or the same alert name on the same service', () => {
    expect(isRefire(record, fire(5, { dedupKey: 'other-key' }))).toBe(true);
    expect(isRefire(record, fire(5, { alertName: 'Other' }))).toBe(true);
    expect(isRefire(record, fire(5, { dedupKey: 'other-key', alertName: 'Other' }))).toBe(false);
    expect(isRefire(record, fire(5, { dedupKey: 'other-key', service: 'billing' }))).toBe(false);
    const { alertName: _, ...withoutName } = fire(5, { dedupKey: 'other-key' });
    expect(isRefire(record, withoutName)).toBe(false);
  });

  it('make a candidate ineffective, recorded with the re-fire time and event', () => {
    const now = at(10 * 60_000);
    expect(afterFire(record, fire(5 * 60_000), now)).toMatchObject({
      standing: 'ineffective',
      refiredAt: at(5 * 60_000),
      refiredBy: `evt-${5 * 60_000}`,
      settledAt: now,
    });
  });

  it('a re-fire arriving after the promotion still demotes the fix; an ineffective fix keeps its earliest re-fire', () => {
    const proven: LearnedIncident = { ...record, standing: 'proven', settledAt: at(hour) };
    const demoted = afterFire(proven, fire(30 * 60_000), at(hour + 5))!;
    expect(demoted).toMatchObject({ standing: 'ineffective', refiredAt: at(30 * 60_000), settledAt: at(hour + 5) });
    expect(afterFire(demoted, fire(40 * 60_000), at(hour + 6))).toBeUndefined();
    expect(afterFire(demoted, fire(30 * 60_000), at(hour + 6))).toBeUndefined();
    expect(afterFire(demoted, fire(10 * 60_000), at(hour + 7))).toMatchObject({
      refiredAt: at(10 * 60_000),
      settledAt: at(hour + 5),
    });
  });

  it('reads an incident.triggered event as a firing', () => {
    const data = exampleData['incident.triggered'] as IncidentTriggered;
    expect(fireOf({ id: 'e1', data })).toEqual({
      eventId: 'e1',
      service: 'payment-api',
      dedupKey: 'payment-api/HighLatency',
      alertName: 'HighLatency',
      firedAt: new Date(data.firedAt),
    });
  });
});

describe('promotion', () => {
  const record = learn({}, hour);

  it('a candidate is due once its window has ended, and is then reported proven', () => {
    expect(isDue(record, at(hour - 1))).toBe(false);
    expect(standingAt(record, at(hour - 1))).toBe('candidate');
    expect(isDue(record, at(hour))).toBe(true);
    expect(standingAt(record, at(hour))).toBe('proven');
  });

  it('an ineffective fix is never reported proven, however long ago', () => {
    const ineffective = afterFire(record, fire(60_000), at(60_000))!;
    expect(isDue(ineffective, at(1000 * hour))).toBe(false);
    expect(standingAt(ineffective, at(1000 * hour))).toBe('ineffective');
  });
});

describe('the passage', () => {
  const record = learn({}, hour);

  it('states the root cause, what was done and the outcome for the standing', () => {
    const candidate = incidentPassage(record, 'candidate');
    expect(candidate).toMatch(/^Root cause: A transaction holds a row lock on orders/);
    expect(candidate).toContain('Done: postgres.terminate_backend(pid=4242)');
    expect(candidate).toContain('Verified: passed 3 rounds (health)');
    expect(candidate).toContain('Not proven yet');
    expect(incidentPassage(record, 'proven')).toContain('Held: no re-fire');
    const ineffective = afterFire(record, fire(60_000), at(60_000))!;
    expect(incidentPassage(ineffective, 'ineffective')).toContain('Tried, did not hold: the alert re-fired at 2026-11-22T10:01:00.000Z');
  });

  it('stays short whatever the root cause', () => {
    const long = learn({ hypothesis: { ...resolved.hypothesis!, rootCause: 'x'.repeat(5000) } });
    expect(incidentPassage(long, 'candidate').length).toBeLessThan(700);
  });
});
