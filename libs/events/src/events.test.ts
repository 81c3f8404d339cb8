import { describe, expect, it } from 'vitest';
import { isVigilError } from '@vigil/errors';
import {
  catalog,
  createEvent,
  decodeEvent,
  deadLetterSubject,
  deterministicUuidv7,
  encodeEvent,
  eventTypes,
  exampleData,
  parseEvent,
  streamName,
  streamSubjects,
  subjectFor,
  typeOfSubject,
  uuidv7,
  uuidv7Time,
} from './index.js';

const lifecycle = [
  'incident.triggered',
  'incident.annotated',
  'incident.resolved.external',
  'investigation.requested',
  'hypothesis.received',
  'context.requested',
  'context.retrieved',
  'remediation.requested',
  'remediation.proposed',
  'approval.requested',
  'approval.decided',
  'execution.requested',
  'execution.completed',
  'verification.requested',
  'verification.completed',
  'incident.resolved',
  'incident.escalated',
];

function expectInvalid(fn: () => unknown, fragment: string): void {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error, 'EVENT_INVALID')).toBe(true);
    expect((error as Error).message).toContain(fragment);
    return;
  }
  throw new Error('expected EVENT_INVALID');
}

describe('catalog', () => {
  it('names exactly the lifecycle events of DESIGN.md', () => {
    expect([...eventTypes].sort()).toEqual([...lifecycle].sort());
  });

  it('maps each type to its subject, under a prefix when given', () => {
    expect(subjectFor('hypothesis.received')).toBe('hypothesis.received');
    expect(subjectFor('hypothesis.received', 'acme.t1')).toBe('acme.t1.hypothesis.received');
    expect(typeOfSubject('acme.t1.hypothesis.received', 'acme.t1')).toBe('hypothesis.received');
    expect(typeOfSubject('other.hypothesis.received', 'acme')).toBeUndefined();
    expect(typeOfSubject('nope.nope')).toBeUndefined();
  });

  it('names streams and dead-letter subjects per prefix', () => {
    expect(streamName('events')).toBe('VIGIL_EVENTS');
    expect(streamName('events', 'acme.t_1')).toBe('ACME-T_1_VIGIL_EVENTS');
    // Prefixes that once collided map to different streams, or are refused.
    expect(streamName('events', 'a.b')).not.toBe(streamName('events', 'a_b'));
    expect(() => streamName('events', 'a-b')).toThrow(/lower-case/);
    expect(() => streamName('events', 'A_b')).toThrow(/lower-case/);
    expect(deadLetterSubject('orchestrator', 'p')).toBe('p.deadletter.orchestrator');
    expect(streamSubjects('deadletters', 'p')).toEqual(['p.deadletter.*']);
    expect(streamSubjects('events', 'p')).toHaveLength(lifecycle.length);
  });

  it('refuses a prefix that would break subjects', () => {
    expect(() => subjectFor('incident.triggered', 'a b')).toThrow(/subject prefix/);
    expect(() => subjectFor('incident.triggered', 'a.>')).toThrow(/subject prefix/);
  });
});

describe('events', () => {
  it.each(eventTypes)('%s: the example parses and round-trips through the wire encoding', (type) => {
    const event = createEvent(type, exampleData[type] as never, { source: 'test', incidentId: 'inc-1' });
    expect(event.type).toBe(type);
    expect(event.version).toBe(catalog[type].version);
    expect(decodeEvent(encodeEvent(event))).toEqual(event);
  });

  it('applies schema defaults and links causation and correlation', () => {
    const trigger = createEvent('incident.triggered', exampleData['incident.triggered'], { source: 'ingest' });
    expect(trigger.incidentId).toBeNull();
    expect(trigger.data.details).toEqual({});
    const command = createEvent('investigation.requested', exampleData['investigation.requested'], {
      source: 'orchestrator',
      incidentId: 'inc-9',
      causedBy: trigger,
    });
    expect(command.causationId).toBe(trigger.id);
    expect(command.correlationId).toBe(trigger.correlationId);
    expect(command.data.labels).toEqual({});
  });

  it('names the offending field of invalid data', () => {
    expectInvalid(
      () =>
        createEvent(
          'incident.triggered',
          { ...exampleData['incident.triggered'], severity: 'apocalyptic' as never },
          {
            source: 'ingest',
          },
        ),
      'data.severity',
    );
    expectInvalid(
      () =>
        createEvent(
          'hypothesis.received',
          { hypothesis: { ...exampleData['hypothesis.received'].hypothesis, confidence: 3 } },
          { source: 'x', incidentId: 'i' },
        ),
      'data.hypothesis.confidence',
    );
  });

  it('incident.resolved: the provenance fields are additive (an event without them still parses) and checked when present', () => {
    const { service, dedupKey, how, resolvedAt, mttrMs } = exampleData['incident.resolved'];
    const bare = createEvent('incident.resolved', { service, dedupKey, how, resolvedAt, mttrMs }, { source: 'o', incidentId: 'i' });
    expect(bare.data).not.toHaveProperty('hypothesis');
    expectInvalid(
      () =>
        createEvent(
          'incident.resolved',
          { ...exampleData['incident.resolved'], verification: { checks: [], proof: { passed: true, passRatio: 2, rounds: 3 } } },
          { source: 'o', incidentId: 'i' },
        ),
      'data.verification.proof.passRatio',
    );
  });

  it('requires an incident id on commands and on events after triggering', () => {
    expectInvalid(() => createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator' }), 'incidentId');
  });

  it('rejects unknown types, newer versions, bad envelopes and bad JSON', () => {
    const good = createEvent('incident.triggered', exampleData['incident.triggered'], { source: 'ingest' });
    expectInvalid(() => parseEvent({ ...good, type: 'incident.exploded' }), 'unknown event type "incident.exploded"');
    expectInvalid(() => parseEvent({ ...good, version: 99 }), 'version 99');
    expectInvalid(() => parseEvent({ ...good, id: 'not-a-uuid' }), 'id');
    expectInvalid(() => parseEvent({ ...good, occurredAt: 'yesterday' }), 'occurredAt');
    expectInvalid(() => decodeEvent('{"id":'), 'not JSON');
    expectInvalid(() => parseEvent(null), 'event envelope');
  });

  it('validates the planHash and the action name of plan steps', () => {
    expectInvalid(
      () =>
        createEvent('approval.decided', { ...exampleData['approval.decided'], planHash: 'xyz' }, { source: 'approver', incidentId: 'i' }),
      'data.planHash',
    );
    const step = { kind: 'action', id: 's', action: 'DROP TABLE', params: {} } as const;
    expectInvalid(
      () => createEvent('execution.requested', { ...exampleData['execution.requested'], step }, { source: 'o', incidentId: 'i' }),
      'data.step.action',
    );
  });
});

describe('ids', () => {
  it('are UUIDv7, unique and ordered by creation even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7Time(uuidv7(1_800_000_000_000))).toBe(1_800_000_000_000);
  });

  it('deterministic ids repeat for the same key and differ for another', () => {
    const a = deterministicUuidv7('pagerduty:webhook:01ABC', 1_700_000_000_000);
    expect(deterministicUuidv7('pagerduty:webhook:01ABC', 1_700_000_000_000)).toBe(a);
    expect(deterministicUuidv7('pagerduty:webhook:01ABD', 1_700_000_000_000)).not.toBe(a);
    expect(uuidv7Time(a)).toBe(1_700_000_000_000);
    expect(() =>
      parseEvent({ ...createEvent('incident.triggered', exampleData['incident.triggered'], { source: 'i', id: a }) }),
    ).not.toThrow();
  });
});
