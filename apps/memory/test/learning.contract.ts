import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus, silentLogger, type Subscription } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { createEvent, exampleData, type EventDataInput, type VigilEvent } from '@vigil/events';
import { collect, eventually } from '@vigil/testing';
import { getLearnedIncident, searchIncidents } from '../src/incident-store.js';
import { searchKnowledge } from '../src/search.js';
import { buildMemory, ingestDirectory, starterRunbooksDir } from '../src/service.js';

const hour = 3_600_000;
const t0 = new Date('2026-11-22T10:00:00.000Z');
const at = (ms: number): Date => new Date(t0.getTime() + ms);
const lockQuery = { query: exampleData['context.requested'].query, service: 'payment-api', alertName: 'HighLatency' };

const resolved = (incidentId: string, data: Partial<EventDataInput<'incident.resolved'>> = {}) =>
  createEvent(
    'incident.resolved',
    { ...exampleData['incident.resolved'], resolvedAt: t0.toISOString(), ...data },
    { source: 'orchestrator', incidentId },
  );

const triggered = (firedAt: Date, data: Partial<EventDataInput<'incident.triggered'>> = {}) =>
  createEvent(
    'incident.triggered',
    { ...exampleData['incident.triggered'], firedAt: firedAt.toISOString(), ...data },
    { source: 'ingest' },
  );

/** Learning from outcomes, on one store: the same suite runs on PostgreSQL and on PGlite. */
export function learningContract(name: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>): void {
  describe(`learning with a stability window on ${name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let now: Date;
    const clock = () => now;
    let instances: Array<{ bus: MemoryBus; sub: Subscription }>;

    /** A memory instance on the store: what a restarted (or a second) copy of the service is. */
    async function start() {
      const bus = new MemoryBus();
      const memory = await buildMemory({ bus, db, clock }, { concurrency: 2, stabilityWindowMs: hour });
      const sub = await bus.consume({ durable: 'memory', ...memory.consumer });
      instances.push({ bus, sub });
      const deliver = async (...events: VigilEvent[]) => {
        for (const event of events) await bus.publish(event);
        await eventually(async () => (await sub.pending()) === 0);
      };
      return { bus, memory, deliver };
    }

    beforeEach(async () => {
      ({ db, cleanup } = await open());
      now = t0;
      instances = [];
    });
    afterEach(async () => {
      for (const { bus } of instances) await bus.close();
      await cleanup();
    });

    it('a remediated resolution becomes a candidate with full provenance and a window; search shows it as a candidate', async () => {
      const { deliver } = await start();
      await deliver(resolved('inc-1'));
      const record = await getLearnedIncident(db, 'inc-1');
      expect(record).toMatchObject({
        standing: 'candidate',
        service: 'payment-api',
        dedupKey: 'payment-api/HighLatency',
        alertName: 'HighLatency',
        title: 'payment-api p95 latency above 2s',
        how: 'remediated',
        resolvedAt: t0,
        windowEndsAt: at(hour),
        provenance: {
          hypothesis: { rootCause: exampleData['incident.resolved'].hypothesis!.rootCause },
          plan: { steps: [{ action: 'postgres.terminate_backend', params: { pid: 4242 } }] },
          verification: { checks: ['health'], proof: { passed: true, passRatio: 1, rounds: 3 } },
          mttrMs: 41_000,
        },
      });
      const [match] = await searchIncidents(db, lockQuery, now);
      expect(match).toMatchObject({
        citation: { kind: 'incident', documentId: 'inc-1', title: 'payment-api p95 latency above 2s' },
        standing: 'candidate',
      });
      expect(match!.score).toBeGreaterThan(0.5);
      expect(match!.score).toBeLessThanOrEqual(1);
      expect(match!.passage).toMatch(
        /^Root cause: A transaction holds a row lock.*Done: postgres\.terminate_backend\(pid=4242\).*Not proven yet/,
      );
      expect(match).not.toHaveProperty('remedy');
    });

    it('a re-fire inside the window marks the fix ineffective, with the re-fire time; it is never presented as proven', async () => {
      const { deliver, memory } = await start();
      await deliver(resolved('inc-1'));
      now = at(20 * 60_000);
      const refire = triggered(at(15 * 60_000));
      await deliver(refire);
      expect(await getLearnedIncident(db, 'inc-1')).toMatchObject({
        standing: 'ineffective',
        refiredAt: at(15 * 60_000),
        refiredBy: refire.id,
        settledAt: at(20 * 60_000),
      });
      now = at(48 * hour);
      expect(await memory.promote()).toEqual([]);
      const [match] = await searchIncidents(db, lockQuery, now);
      expect(match).toMatchObject({ citation: { documentId: 'inc-1' }, standing: 'ineffective' });
      expect(match!.passage).toContain('Tried, did not hold: the alert re-fired at 2026-11-22T10:15:00.000Z');
    });

    it('the same alert name on the same service is a re-fire too; a firing of another alert, or after the window, is not', async () => {
      const { deliver } = await start();
      await deliver(
        resolved('inc-1'),
        resolved('inc-2', { dedupKey: 'disk/full', alertName: 'DiskFull' }),
        resolved('inc-3', { dedupKey: 'cert/expiry', alertName: 'CertExpiring' }),
      );
      await deliver(
        triggered(at(10 * 60_000), { dedupKey: 'payment-api/HighLatency#2' }),
        triggered(at(10 * 60_000), { dedupKey: 'other', alertName: 'SomethingElse' }),
        triggered(at(hour + 1), { dedupKey: 'cert/expiry', alertName: 'CertExpiring' }),
      );
      expect((await getLearnedIncident(db, 'inc-1'))?.standing).toBe('ineffective');
      expect((await getLearnedIncident(db, 'inc-2'))?.standing).toBe('candidate');
      expect((await getLearnedIncident(db, 'inc-3'))?.standing).toBe('candidate');
    });

    it('a re-fire that memory sees before the resolution still counts', async () => {
      const { deliver } = await start();
      await deliver(triggered(at(5 * 60_000)));
      await deliver(resolved('inc-1'));
      expect(await getLearnedIncident(db, 'inc-1')).toMatchObject({ standing: 'ineffective', refiredAt: at(5 * 60_000) });
    });

    it('once the window has passed without a re-fire the fix is proven: at search time at once, and by the ticker', async () => {
      const { deliver, memory } = await start();
      await deliver(resolved('inc-1'));
      now = at(hour - 1);
      expect(await memory.promote()).toEqual([]);
      now = at(hour);
      // No promotion has run since the window ended: search already reports it.
      expect((await searchIncidents(db, lockQuery, now))[0]?.standing).toBe('proven');
      expect((await getLearnedIncident(db, 'inc-1'))?.standing).toBe('candidate');
      expect(await memory.promote()).toEqual(['inc-1']);
      expect(await memory.promote()).toEqual([]);
      expect(await getLearnedIncident(db, 'inc-1')).toMatchObject({ standing: 'proven', settledAt: at(hour) });
      expect((await searchIncidents(db, lockQuery, now))[0]?.passage).toContain('Held: no re-fire in the stability window');
    });

    it('after a restart, the running ticker promotes by itself what the old instance recorded', async () => {
      const first = await start();
      await first.deliver(resolved('inc-1'));
      await first.bus.close();
      now = at(2 * hour);
      const { memory } = await start();
      const ticker = memory.startPromotion({ intervalMs: 20, log: silentLogger });
      await eventually(async () => (await getLearnedIncident(db, 'inc-1'))?.standing === 'proven');
      await ticker.stop();
    });

    it('a restart loses nothing: a new instance on the same store promotes what the old one recorded', async () => {
      const first = await start();
      await first.deliver(resolved('inc-1'), resolved('inc-2', { dedupKey: 'disk/full', alertName: 'DiskFull' }));
      await first.bus.close();
      now = at(hour + 5);
      const second = await start();
      expect(await second.memory.promote()).toEqual(['inc-1', 'inc-2']);
    });

    it('two copies promoting at once promote each fix once', async () => {
      const a = await start();
      const b = await start();
      await a.deliver(resolved('inc-1'), resolved('inc-2', { dedupKey: 'disk/full' }), resolved('inc-3', { dedupKey: 'x' }));
      now = at(hour);
      const [fromA, fromB] = await Promise.all([a.memory.promote(), b.memory.promote()]);
      expect([...fromA, ...fromB].sort()).toEqual(['inc-1', 'inc-2', 'inc-3']);
    });

    it('redelivered and replayed events change nothing: one record, its standing and re-fire kept', async () => {
      const first = await start();
      const resolution = resolved('inc-1');
      const refire = triggered(at(10 * 60_000));
      await first.deliver(resolution, refire);
      const before = await getLearnedIncident(db, 'inc-1');
      expect(before?.standing).toBe('ineffective');
      // A new copy has an empty inbox: the same events come again, as after a restart and a replay.
      now = at(2 * hour);
      const second = await start();
      await second.deliver(resolution, refire, resolved('inc-1', { resolvedAt: at(30 * 60_000).toISOString() }));
      expect(await getLearnedIncident(db, 'inc-1')).toEqual(before);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM learned_incidents`);
      expect(rows[0]?.n).toBe(1);
      expect((await searchIncidents(db, lockQuery, now)).filter((m) => m.citation.documentId === 'inc-1')).toHaveLength(1);
    });

    it('external and manual resolutions are history: never promoted, never offered as a fix', async () => {
      const { deliver, memory } = await start();
      await deliver(resolved('inc-ext', { how: 'external', plan: undefined }), resolved('inc-man', { how: 'manual' }));
      now = at(100 * hour);
      await memory.promote();
      expect(await getLearnedIncident(db, 'inc-ext')).toMatchObject({ standing: 'history', how: 'external' });
      expect(await getLearnedIncident(db, 'inc-man')).toMatchObject({ standing: 'history', how: 'manual' });
      expect(await searchIncidents(db, lockQuery, now)).toEqual([]);
    });

    it('context.retrieved carries runbooks and past incidents, each kind within the limit, with standing and citation', async () => {
      const { bus, deliver } = await start();
      await ingestDirectory(db, starterRunbooksDir);
      await deliver(
        resolved('inc-held'),
        resolved('inc-failed', { resolvedAt: at(hour).toISOString() }),
        resolved('inc-billing', { service: 'billing', dedupKey: 'billing/HighLatency' }),
      );
      await deliver(triggered(at(hour + 60_000)));
      now = at(3 * hour);
      const request = createEvent(
        'context.requested',
        { ...exampleData['context.requested'], limit: 2 },
        {
          source: 'orchestrator',
          incidentId: 'inc-9',
        },
      );
      await deliver(request);
      const [answer] = (await collect(bus.read({ types: ['context.retrieved'] }))).map((s) => s.event as VigilEvent<'context.retrieved'>);
      const matches = answer!.data.matches;
      expect(matches.filter((m) => m.citation.kind === 'runbook')).toHaveLength(2);
      expect(matches.find((m) => m.citation.kind === 'runbook')?.citation.documentId).toBe('pg-lock-contention');
      const incidents = matches.filter((m) => m.citation.kind === 'incident');
      // The fix whose alert came back within its hour is ineffective; the one that held is proven; another service's is left out.
      // Equally good matches: the fix that held comes before the one that did not.
      expect(incidents.map((m) => [m.citation.documentId, m.standing])).toEqual([
        ['inc-held', 'proven'],
        ['inc-failed', 'ineffective'],
      ]);
      expect(matches.map((m) => m.score)).toEqual([...matches.map((m) => m.score)].sort((a, b) => b - a));
      expect(await searchKnowledge(db, { query: 'row lock orders', limit: 1 }, now)).toHaveLength(2);
    });
  });
}
