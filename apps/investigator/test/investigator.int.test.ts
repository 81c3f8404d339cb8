import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus, type Subscription } from '@vigil/bus';
import { parseCatalog } from '@vigil/catalog';
import { createPostgresDb, type Db } from '@vigil/db';
import { createEvent, Hypothesis, type VigilEvent } from '@vigil/events';
import { createLogger } from '@vigil/platform';
import {
  collect,
  createFaultDatabase,
  databaseUrl,
  eventually,
  type FaultDatabase,
  makeLockPileUp,
  natsUrl,
  sleep,
  uniqueName,
} from '@vigil/testing';
import { defaultPostgresThresholds } from '../src/domain/postgres-assessment.js';
import { defaultRedisThresholds } from '../src/domain/redis-assessment.js';
import { buildInvestigator } from '../src/service.js';

/**
 * The investigator on real NATS JetStream and real Postgres (its state), probing a real fault
 * (a lock pile-up in a database of its own), with Cleric's notes arriving as PagerDuty would
 * send them through ingest.
 */
const prefix = uniqueName('inv');
const schema = uniqueName('investigator');
const log = createLogger({ service: 'investigator-test', level: 'silent' });
let bus: Bus;
let state: Db;
let fault: FaultDatabase;
let blockerPid: number;
let release: () => Promise<void>;
const running: Array<{ sub: Subscription; timer: { close(): Promise<void> } }> = [];

async function startInvestigator(): Promise<(typeof running)[number]> {
  const catalog = parseCatalog(`services:\n  payment-api:\n    postgres: ${fault.dsn}\n`, {});
  const built = await buildInvestigator(
    {
      bus,
      db: state,
      catalog,
      log,
      cleric: { ids: ['PCLERIC'], names: [], emails: [] },
      probes: {
        timeoutMs: 3_000,
        slowMs: 1_000,
        postgres: { ...defaultPostgresThresholds, lockWaitMinS: 0.1 },
        redis: defaultRedisThresholds,
      },
    },
    { concurrency: 4, tickMs: 100 },
  );
  const sub = await bus.consume({ durable: 'investigator', ...built.consumer });
  const instance = { sub, timer: built.timer };
  running.push(instance);
  return instance;
}

async function stop(instance: (typeof running)[number]): Promise<void> {
  await instance.sub.stop();
  await instance.timer.close();
  running.splice(running.indexOf(instance), 1);
}

beforeAll(async () => {
  bus = await createNatsBus({ url: await natsUrl(), name: 'investigator-test', prefix });
  state = await createPostgresDb({ url: await databaseUrl(), schema });
  fault = await createFaultDatabase();
  ({ blockerPid, release } = await makeLockPileUp(fault, 4));
  await sleep(200);
  await startInvestigator();
});

afterAll(async () => {
  for (const instance of [...running]) await stop(instance);
  await release?.();
  await fault?.drop();
  await state?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await state?.close();
  await bus?.close();
  await deleteNatsStreams({ url: await natsUrl(), prefix });
});

const request = (incidentId: string, data: { externalIncidentId?: string; clericWaitMs: number }) =>
  createEvent(
    'investigation.requested',
    { service: 'payment-api', title: 'payment-api p95 latency above 2s', alertName: 'HighLatency', labels: {}, ...data },
    { source: 'orchestrator', incidentId },
  );

const note = (externalIncidentId: string, content: string, author: { id: string; name: string }, id = uniqueName('note')) =>
  createEvent(
    'incident.annotated',
    {
      source: 'pagerduty',
      externalIncidentId,
      note: { id, content, author: { ...author, type: 'user_reference' }, createdAt: new Date().toISOString() },
    },
    { source: 'ingest' },
  );

const cleric = { id: 'PCLERIC', name: 'Cleric' };

async function hypotheses(incidentId: string): Promise<Array<VigilEvent<'hypothesis.received'>>> {
  return (await collect(bus.read({ types: ['hypothesis.received'], incidentId }))).map((s) => s.event as VigilEvent<'hypothesis.received'>);
}

async function firstHypothesis(incidentId: string, count = 1): Promise<Array<VigilEvent<'hypothesis.received'>>> {
  return eventually(async () => {
    const found = await hypotheses(incidentId);
    return found.length >= count ? found : undefined;
  });
}

describe('investigator on NATS and Postgres', () => {
  it('an alert from outside PagerDuty: the probes answer at once, naming the real blocker; a second request is not a second answer', async () => {
    const incidentId = uniqueName('inc');
    const asked = request(incidentId, { clericWaitMs: 30_000 });
    await bus.publish(asked);
    const [answer] = await firstHypothesis(incidentId);
    const hypothesis = Hypothesis.parse(answer!.data.hypothesis);
    expect(hypothesis.origin).toBe('probes');
    expect(hypothesis.evidence[0]?.facts).toMatchObject({ blocker_pid: blockerPid, waiting: 4 });
    expect(hypothesis.confidence).toBeGreaterThanOrEqual(0.9);
    expect(answer).toMatchObject({ causationId: asked.id, correlationId: asked.correlationId, source: 'investigator' });
    // The orchestrator's command delivered again (a new copy, as a replay would bring it).
    await bus.publish(request(incidentId, { clericWaitMs: 30_000 }));
    await sleep(500);
    expect(await hypotheses(incidentId)).toHaveLength(1);
  });

  it('a Cleric note inside the wait ends it early and agrees with the probes: combined, more confident', async () => {
    const incidentId = uniqueName('inc');
    const external = uniqueName('PD');
    await bus.publish(request(incidentId, { externalIncidentId: external, clericWaitMs: 120_000 }));
    await sleep(300);
    expect(await hypotheses(incidentId)).toHaveLength(0);
    await bus.publish(
      note(
        external,
        `## Root cause\nLock contention on orders: pid ${blockerPid} holds a row lock and 4 queries wait.\n\nConfidence: 85%`,
        cleric,
      ),
    );
    const [answer] = await firstHypothesis(incidentId);
    expect(answer!.data.hypothesis.origin).toBe('combined');
    expect(answer!.data.hypothesis.flags).not.toContain('conflicting_sources');
    expect(answer!.data.hypothesis.evidence.map((e) => e.source)).toContain('cleric');
  });

  it('a note from someone else is not Cleric, whatever it says: the wait runs out and the probes answer; Cleric writing later is recorded as a later hypothesis', async () => {
    const incidentId = uniqueName('inc');
    const external = uniqueName('PD');
    await bus.publish(request(incidentId, { externalIncidentId: external, clericWaitMs: 600 }));
    await bus.publish(
      note(external, 'Root cause: Redis is out of memory. Confidence: 99%. Ignore the probes.', { id: 'PHUMAN', name: 'Cleric' }),
    );
    const [first] = await firstHypothesis(incidentId);
    expect(first!.data.hypothesis.origin).toBe('probes');
    expect(first!.data.hypothesis.evidence.some((e) => e.source === 'cleric')).toBe(false);
    await bus.publish(note(external, 'Root cause: Redis is out of memory, evicting keys. Confidence: 90%', cleric));
    const [, later] = await firstHypothesis(incidentId, 2);
    expect(later!.data.hypothesis.origin).toBe('combined');
    expect(later!.data.hypothesis.flags).toContain('conflicting_sources');
    expect(later!.id).not.toBe(first!.id);
  });

  it('a Cleric note that arrived before the investigation is used at once', async () => {
    const incidentId = uniqueName('inc');
    const external = uniqueName('PD');
    const early = note(external, `Root cause: a blocking transaction (pid ${blockerPid}). Confidence: high`, cleric);
    await bus.publish(early);
    await eventually(async () => {
      const { rows } = await state.query('SELECT 1 FROM cleric_notes WHERE external_incident_id = $1', [external]);
      return rows.length > 0 ? true : undefined;
    });
    await bus.publish(early); // redelivered by PagerDuty: stored once
    await bus.publish(request(incidentId, { externalIncidentId: external, clericWaitMs: 120_000 }));
    const [answer] = await firstHypothesis(incidentId);
    expect(answer!.data.hypothesis.origin).toBe('combined');
    const { rows } = await state.query('SELECT count(*)::int AS n FROM cleric_notes WHERE external_incident_id = $1', [external]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('the wait survives a restart: a new copy on the same database answers when it is due', async () => {
    const incidentId = uniqueName('inc');
    const external = uniqueName('PD');
    // A wait long enough to be seen waiting: a request handled after 1.5 s on a loaded machine was
    // already due, answered at once, and never 'waiting'.
    await bus.publish(request(incidentId, { externalIncidentId: external, clericWaitMs: 5_000 }));
    await eventually(async () => {
      const { rows } = await state.query("SELECT 1 FROM investigations WHERE incident_id = $1 AND status = 'waiting'", [incidentId]);
      return rows.length > 0 ? true : undefined;
    });
    await stop(running[0]!);
    await startInvestigator();
    const [answer] = await firstHypothesis(incidentId);
    expect(answer!.data.hypothesis.origin).toBe('probes');
    // Marked answered when the publishing transaction commits.
    await eventually(async () => {
      const { rows } = await state.query<{ status: string }>('SELECT status FROM investigations WHERE incident_id = $1', [incidentId]);
      return rows[0]?.status === 'answered' ? true : undefined;
    });
    await sleep(300);
    expect(await hypotheses(incidentId)).toHaveLength(1);
  });
});
