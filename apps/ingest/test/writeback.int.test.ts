import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus, type Subscription } from '@vigil/bus';
import { createRedisCache, type Cache } from '@vigil/cache';
import { createEvent, exampleData, type EventDataInput, type EventType, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import { collect, eventually, redisUrl, uniqueName } from '@vigil/testing';
import { createPagerDutyRest } from '../src/writeback/pagerduty-rest.client.js';
import { createWriteBackConsumer } from '../src/writeback/writeback.consumer.js';
import { startFakePagerDutyRest, type FakePagerDutyRest } from './fakes/pagerduty-rest.js';

const apiKey = 'u+PDKEY-do-not-log-0123456789';
const fromEmail = 'vigil-bot@example.com';

describe('PagerDuty write-back over a real bus and Redis, against a loopback PagerDuty REST API', () => {
  let fake: FakePagerDutyRest;
  let bus: MemoryBus;
  let cache: Cache;
  let sub: Subscription;
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await startFakePagerDutyRest({ apiKey, fromEmail, incidents: ['PD1', 'PD2', 'PD3'] });
    const log = createLogger({ service: 'ingest', level: 'debug', destination: { write: (line: string) => logLines.push(line) } });
    bus = new MemoryBus({ logger: log });
    cache = await createRedisCache({ url: await redisUrl(), prefix: `${uniqueName('writeback')}:` });
    const pagerduty = createPagerDutyRest({ apiUrl: fake.url, apiKey, fromEmail, timeoutMs: 5000 });
    sub = await bus.consume(createWriteBackConsumer({ pagerduty, cache }));
  });
  afterAll(async () => {
    await bus.close();
    await cache.close();
    await fake.close();
  });

  const publish = <T extends EventType>(type: T, incidentId: string, data: EventDataInput<T>) =>
    bus.publish(createEvent(type, data, { source: 'test', incidentId }) as VigilEvent);
  const settled = () => eventually(async () => (await sub.pending()) === 0, { message: 'write-back consumer has pending events' });
  // The saga's decisions are causal (each answers the previous one), so each is published once
  // the one before has been handled, as they are in a real incident.
  const step = async <T extends EventType>(type: T, incidentId: string, data: EventDataInput<T>) => {
    await publish(type, incidentId, data);
    await settled();
  };
  const requested = (externalIncidentId?: string) => ({
    ...exampleData['investigation.requested'],
    ...(externalIncidentId ? { externalIncidentId } : {}),
  });

  it('notes every decision in order on the PagerDuty incident, retries after a 429, resolves it, and writes nothing for a non-PagerDuty incident', async () => {
    await step('investigation.requested', 'inc-pd', requested('PD1'));
    await step('investigation.requested', 'inc-local', requested());
    await step('hypothesis.received', 'inc-local', exampleData['hypothesis.received']);
    await step('hypothesis.received', 'inc-pd', exampleData['hypothesis.received']);
    await step('remediation.proposed', 'inc-pd', exampleData['remediation.proposed']);
    fake.rateLimitOnce(1);
    await step('approval.decided', 'inc-pd', exampleData['approval.decided']);
    await step('incident.escalated', 'inc-local', exampleData['incident.escalated']);
    await step('execution.completed', 'inc-pd', exampleData['execution.completed']);
    await step('verification.completed', 'inc-pd', exampleData['verification.completed']);
    await step('incident.resolved', 'inc-pd', exampleData['incident.resolved']);

    const notes = fake.notes('PD1');
    expect(notes).toHaveLength(6);
    expect(notes[0]).toMatch(/^\[Vigil\] Hypothesis \(probes, confidence 93%\): A transaction holds a row lock/);
    expect(notes[1]).toContain('Plan (confidence 92%, risk LOW)');
    expect(notes[1]).toContain('1. postgres.terminate_backend (step-1)');
    expect(notes[2]).toMatch(/^\[Vigil\] Approval approved by ana via /);
    expect(notes[3]).toMatch(/^\[Vigil\] Execution of step step-1 succeeded: /);
    expect(notes[4]).toBe('[Vigil] Verification (proof) passed: pass ratio 100% over 3 rounds');
    expect(notes[5]).toMatch(/^\[Vigil\] Resolved \(remediated\)/);

    // The 429 was answered once, the approval note was then posted exactly once.
    const statuses = fake.calls.map((c) => `${c.method} ${c.status}`);
    expect(statuses.filter((s) => s.endsWith(' 429'))).toHaveLength(1);
    expect(notes.filter((n) => n.includes('Approval'))).toHaveLength(1);
    const put = fake.calls.find((c) => c.method === 'PUT');
    expect(put?.path).toBe('/incidents/PD1');
    expect(put?.body).toEqual({
      incident: { type: 'incident_reference', status: 'resolved', resolution: 'Resolved by Vigil (remediated)' },
    });

    // Nothing at all for the incident that did not come from PagerDuty.
    expect(fake.calls.every((c) => c.pdIncidentId === 'PD1')).toBe(true);
    expect(await collect(bus.deadLetters())).toEqual([]);
  });

  it('drops a note PagerDuty refuses (404) without retrying, and does not resolve an incident PagerDuty resolved itself', async () => {
    await step('investigation.requested', 'inc-gone', requested('PD-GONE'));
    await step('investigation.requested', 'inc-pd2', requested('PD2'));
    await step('incident.escalated', 'inc-gone', exampleData['incident.escalated']);
    await step('incident.escalated', 'inc-pd2', exampleData['incident.escalated']);
    await step('incident.resolved', 'inc-pd2', { ...exampleData['incident.resolved'], how: 'external' });

    expect(fake.calls.filter((c) => c.pdIncidentId === 'PD-GONE').map((c) => c.status)).toEqual([404]);
    expect(fake.notes('PD2')[0]).toMatch(/^\[Vigil\] Escalated to a human \(low_confidence, stage SYNTHESIZING\): /);
    expect(fake.notes('PD2')[1]).toMatch(/^\[Vigil\] Resolved \(external\)/);
    expect(fake.resolved).not.toContain('PD2');
    expect(await collect(bus.deadLetters())).toEqual([]);
    expect(logLines.some((l) => l.includes('PagerDuty refused the write-back'))).toBe(true);
  });

  it("a note that overtakes its incident's first event waits for the mapping instead of being dropped", async () => {
    // Each type has its own consumer: a backlog on investigation.requested lets a later decision pass it.
    await publish('hypothesis.received', 'inc-late', exampleData['hypothesis.received']);
    await eventually(
      async () => logLines.some((l) => l.includes('PD_MAPPING_PENDING') || l.includes('before its investigation.requested')),
      {
        message: 'the early note was not held back',
      },
    );
    expect(fake.notes('PD2').filter((n) => n.includes('Hypothesis'))).toEqual([]);
    await publish('investigation.requested', 'inc-late', requested('PD2'));
    await eventually(() => fake.notes('PD2').filter((n) => n.includes('Hypothesis')).length === 1, {
      message: 'the held note never arrived',
    });
    await settled();
    expect(fake.notes('PD2').filter((n) => n.includes('Hypothesis'))).toHaveLength(1);
    expect(await collect(bus.deadLetters())).toEqual([]);
  });

  it('an incident that took on a PagerDuty incident after it opened is resolved there, from the id its closing event names', async () => {
    // Opened by Alertmanager: nothing to write back to, until PagerDuty's trigger for the same alert was correlated with it.
    await step('investigation.requested', 'inc-adopted', requested());
    await step('hypothesis.received', 'inc-adopted', exampleData['hypothesis.received']);
    expect(fake.notes('PD3')).toEqual([]);
    await step('incident.resolved', 'inc-adopted', { ...exampleData['incident.resolved'], externalIncidentId: 'PD3' });

    expect(fake.notes('PD3')).toHaveLength(1);
    expect(fake.notes('PD3')[0]).toMatch(/^\[Vigil\] Resolved \(remediated\)/);
    expect(fake.resolved).toContain('PD3');
    expect(await collect(bus.deadLetters())).toEqual([]);
  });

  it('never logs the API key', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes('PDKEY'))).toEqual([]);
  });
});
