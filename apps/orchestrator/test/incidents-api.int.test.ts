import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { createPgliteDb } from '@vigil/db';
import { createEvent, exampleData, type EventDataInput, type EventType, type VigilEvent } from '@vigil/events';
import { eventually } from '@vigil/testing';
import { autoPlan, contextMatches } from '../src/domain/saga.fixtures.js';
import { startOrchestrator, type TestOrchestrator } from './start-orchestrator.js';

const ANA = 'ana-token-0123456789';
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(env: Record<string, string> = { ORCHESTRATOR_API_TOKENS: `ana:${ANA}` }) {
  const bus = new MemoryBus();
  const db = await createPgliteDb({ schema: 'orchestrator' });
  closers.push(() => db.close());
  const orchestrator = await startOrchestrator({ bus, db, env });
  closers.push(() => orchestrator.stop());
  return { bus, db, orchestrator };
}

const auth = { authorization: `Bearer ${ANA}` };
async function call(o: TestOrchestrator, path: string, init: RequestInit = {}) {
  const response = await fetch(`${o.url}${path}`, init);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of several shapes, checked by the assertions
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

function publish<T extends EventType>(bus: MemoryBus, type: T, data: Partial<EventDataInput<T>>, incidentId: string | null) {
  return bus.publish(
    createEvent(type, { ...(exampleData[type] as object), ...data } as EventDataInput<T>, { source: 'test', incidentId }) as VigilEvent,
  );
}

/** The value of the sample `name` whose labels include `labels` (in any order), from Prometheus' text format. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** Drives one incident through the bus as the other services would, up to the gate. */
async function incidentAtGate(bus: MemoryBus, o: TestOrchestrator): Promise<string> {
  await publish(bus, 'incident.triggered', {}, null);
  const id = await eventually(async () => (await call(o, '/incidents', { headers: auth })).json.incidents?.[0]?.id as string | undefined);
  await publish(bus, 'hypothesis.received', {}, id);
  await eventually(async () => (await call(o, `/incidents/${id}`, { headers: auth })).json.incident.stage === 'HYPOTHESIS_RECEIVED');
  await publish(bus, 'context.retrieved', { matches: contextMatches }, id);
  await eventually(async () => (await call(o, `/incidents/${id}`, { headers: auth })).json.incident.stage === 'SYNTHESIZING');
  await publish(bus, 'remediation.proposed', { outcome: 'plan', plan: autoPlan, flags: [] } as never, id);
  await eventually(async () => (await call(o, `/incidents/${id}`, { headers: auth })).json.incident.stage === 'EXECUTING');
  return id;
}

describe('the incident API', () => {
  it('lists and shows incidents, with the timeline and its chain', async () => {
    const { bus, orchestrator } = await setUp();
    const id = await incidentAtGate(bus, orchestrator);
    const list = await call(orchestrator, '/incidents?stage=EXECUTING&service=payment-api', { headers: auth });
    expect(list.json.incidents).toMatchObject([{ id, stage: 'EXECUTING', service: 'payment-api' }]);
    expect((await call(orchestrator, '/incidents?stage=RESOLVED', { headers: auth })).json.incidents).toEqual([]);
    const shown = await call(orchestrator, `/incidents/${id}`, { headers: auth });
    expect(shown.json.chain).toMatchObject({ valid: true });
    expect(shown.json.incident.gate).toMatchObject({ decision: 'AUTO_EXECUTE' });
  });

  it('the outbox reaches the bus: every command the saga issued is published', async () => {
    const { bus, orchestrator } = await setUp();
    const id = await incidentAtGate(bus, orchestrator);
    const types: string[] = [];
    await eventually(async () => {
      types.length = 0;
      for await (const stored of bus.read({ incidentId: id })) if (stored.event.source === 'orchestrator') types.push(stored.event.type);
      return types.length === 4;
    });
    expect(types).toEqual(['investigation.requested', 'context.requested', 'remediation.requested', 'verification.requested']);
  });

  it('exports the whole record, replays it unchanged, and shows what another policy would do', async () => {
    const { bus, orchestrator } = await setUp();
    const id = await incidentAtGate(bus, orchestrator);
    const record = await call(orchestrator, `/incidents/${id}/export`, { headers: auth });
    expect(record.json).toMatchObject({ format: 'vigil.incident-record/1', chain: { valid: true } });
    expect(record.json.head).toEqual({ seq: record.json.timeline.length, hash: record.json.timeline.at(-1).hash });
    expect(record.json.timeline.filter((e: { kind: string }) => e.kind === 'event')).toHaveLength(4);
    const same = await call(orchestrator, `/incidents/${id}/replay`, { headers: auth });
    expect(same.json).toMatchObject({ differences: 0, finalStage: { recorded: 'EXECUTING', replayed: 'EXECUTING' } });
    const shadow = await call(orchestrator, `/incidents/${id}/replay`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: { defaults: { autonomy: 'shadow' } } }),
    });
    expect(shadow.json.differences).toBe(1);
    expect(shadow.json.finalStage).toEqual({ recorded: 'EXECUTING', replayed: 'ESCALATED' });
    const changed = shadow.json.steps.find((s: { same: boolean }) => !s.same);
    expect(changed.input).toBe('remediation.proposed');
    expect(changed.replayed.decisions).toEqual(['gate: ESCALATE']);
  });

  it('escalates by hand, naming the person from the token; a second time is a conflict', async () => {
    const { bus, orchestrator } = await setUp();
    const id = await incidentAtGate(bus, orchestrator);
    const post = (body: unknown) =>
      call(orchestrator, `/incidents/${id}/escalate`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({})).status).toBe(400);
    const done = await post({ reason: 'customer on the phone' });
    expect(done.status).toBe(200);
    expect(done.json.incident).toMatchObject({
      stage: 'ESCALATED',
      outcome: { reason: 'manual', message: 'escalated by ana: customer on the phone' },
    });
    expect((await post({ reason: 'again' })).status).toBe(409);
  });

  it('counts open incidents by stage, gate decisions, and how long each incident took to close', async () => {
    const { bus, orchestrator } = await setUp();
    const metrics = async () => (await fetch(`${orchestrator.url}/metrics`)).text();
    const id = await incidentAtGate(bus, orchestrator);
    const during = await metrics();
    expect(sample(during, 'vigil_incidents_open', { stage: 'EXECUTING' })).toBe(1);
    expect(sample(during, 'vigil_gate_decisions_total', { decision: 'AUTO_EXECUTE' })).toBe(1);
    expect(sample(during, 'vigil_incident_duration_seconds_count', { outcome: 'escalated' })).toBeUndefined();
    await call(orchestrator, `/incidents/${id}/escalate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'checking the metrics' }),
    });
    const after = await metrics();
    expect(sample(after, 'vigil_incidents_open', { stage: 'EXECUTING' })).toBeUndefined();
    expect(sample(after, 'vigil_incident_duration_seconds_count', { outcome: 'escalated', reason: 'manual' })).toBe(1);
  });

  it('refuses calls without a valid token, and answers 404 and 400 clearly', async () => {
    const { orchestrator } = await setUp();
    expect((await call(orchestrator, '/incidents')).status).toBe(401);
    expect((await call(orchestrator, '/incidents', { headers: { authorization: 'Bearer wrong-token-000000000' } })).status).toBe(401);
    expect((await call(orchestrator, '/incidents/nope', { headers: auth })).status).toBe(404);
    const bad = await call(orchestrator, '/incidents?stage=DANCING', { headers: auth });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json.problems)).toContain('stage');
    expect((await call(orchestrator, '/healthz')).status).toBe(200);
  });

  it('without API tokens every call is refused, naming the variable', async () => {
    const { orchestrator } = await setUp({});
    const calls: Array<[string, RequestInit]> = [
      ['/incidents', {}],
      ['/incidents/x', {}],
      ['/incidents/x/escalate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"x"}' }],
    ];
    for (const [path, init] of calls) {
      const refused = await call(orchestrator, path, init);
      expect(refused.status).toBe(503);
      expect(refused.json.error).toContain('ORCHESTRATOR_API_TOKENS');
    }
    expect((await call(orchestrator, '/healthz')).status).toBe(200);
  });

  it('POST replay without a policy replays with the running configuration', async () => {
    const { bus, orchestrator } = await setUp();
    const id = await incidentAtGate(bus, orchestrator);
    const posted = await call(orchestrator, `/incidents/${id}/replay`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(posted.json.differences).toBe(0);
  });
});
