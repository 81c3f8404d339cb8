import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { createMemoryCache } from '@vigil/cache';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { isVigilError } from '@vigil/errors';
import { createLogger } from '@vigil/platform';
import { createCatalogSafetyCheck, GateThresholds } from '@vigil/policy';
import { collect } from '@vigil/testing';
import { startDeadlineTimer } from '../src/deadline-timer.js';
import type { SagaInput } from '../src/domain/inputs.js';
import { autoPlan, config, contextMatches, event, proposal, t0, verified } from '../src/domain/saga.fixtures.js';
import { verifyChain } from '@vigil/audit';
import { startOutboxRelay } from '../src/outbox-relay.js';
import { processInput, type SagaDeps } from '../src/saga-runner.js';
import { migrationsDir } from '../src/service.js';
import { listIncidents, readIncident, readTimeline } from '../src/store/incident-store.js';

export interface StoreHarness {
  db: Db;
  cleanup(): Promise<void>;
}

const log = createLogger({ service: 'test', level: 'silent' });

/** Retries what a bus would retry (a retryable VigilError), as redelivery does. */
export async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isVigilError(error) || !error.retryable || attempt > 20) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

export function sagaStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`the saga on ${name}`, () => {
    let harness: StoreHarness;
    let deps: SagaDeps;
    let now: Date;
    beforeEach(async () => {
      harness = await makeHarness();
      await migrate(harness.db, await loadMigrations(migrationsDir));
      now = t0;
      deps = { db: harness.db, cache: createMemoryCache(), config, safety: createCatalogSafetyCheck(), clock: () => now };
    });
    afterEach(async () => harness.cleanup());

    const run = (input: SagaInput) => withRetries(() => processInput(deps, input));
    const openIncident = async (dedupKey?: string): Promise<string> => {
      await run(event('incident.triggered', dedupKey ? { dedupKey } : {}, null));
      const incidents = await listIncidents(harness.db);
      return incidents.find((i) => dedupKey === undefined || i.dedupKey === dedupKey)!.id;
    };
    const forIncident = (id: string, input: SagaInput): SagaInput =>
      input.kind === 'event' ? { kind: 'event', event: { ...input.event, incidentId: id } } : { ...input, incidentId: id };

    it('stores state, a chained timeline, the outbox and the deadline in one commit', async () => {
      const id = await openIncident();
      const incident = await readIncident(harness.db, id);
      expect(incident).toMatchObject({ stage: 'INVESTIGATING', version: 1, service: 'payment-api' });
      const timeline = await readTimeline(harness.db, id);
      expect(timeline.map((e) => e.kind)).toEqual(['event', 'stage', 'stage', 'command']);
      expect(verifyChain(timeline)).toEqual({ valid: true, entries: 4 });
      const outbox = await harness.db.query<{ event: { type: string; incidentId: string } }>('SELECT event FROM outbox');
      expect(outbox.rows.map((r) => r.event.type)).toEqual(['investigation.requested']);
      expect(outbox.rows[0]!.event.incidentId).toBe(id);
      const timers = await harness.db.query<{ stage: string }>('SELECT stage FROM timers WHERE incident_id = $1', [id]);
      expect(timers.rows).toEqual([{ stage: 'INVESTIGATING' }]);
    });

    it('a redelivered event changes nothing', async () => {
      const trigger = event('incident.triggered', {}, null);
      await run(trigger);
      expect(await run(trigger)).toEqual({ duplicate: true });
      const [incident] = await listIncidents(harness.db);
      expect(incident!.occurrences).toBe(1);
      expect((await harness.db.query('SELECT 1 FROM outbox')).rows).toHaveLength(1);
    });

    it('triggers racing for one dedup key open exactly one incident; the rest attach', async () => {
      await Promise.all(Array.from({ length: 8 }, () => run(event('incident.triggered', {}, null))));
      const incidents = await listIncidents(harness.db);
      expect(incidents).toHaveLength(1);
      expect(incidents[0]!.occurrences).toBe(8);
    });

    it('drives a whole incident to RESOLVED, every step committed and chained', async () => {
      const id = await openIncident();
      for (const input of [
        event('hypothesis.received'),
        event('context.retrieved', { matches: contextMatches }),
        proposal(autoPlan),
        verified('baseline', false),
      ]) {
        await run(forIncident(id, input));
      }
      const running = await readIncident(harness.db, id);
      const executionId = running!.steps[0]!.executionId;
      await run(forIncident(id, event('execution.completed', { executionId, stepId: 'step-1', status: 'succeeded', summary: 'ok' })));
      await run(forIncident(id, verified('proof', true)));
      const done = await readIncident(harness.db, id);
      expect(done).toMatchObject({ stage: 'RESOLVED', version: 7 });
      const timeline = await readTimeline(harness.db, id);
      expect(verifyChain(timeline).valid).toBe(true);
      expect(timeline.filter((e) => e.kind === 'stage').map((e) => e.summary)).toEqual([
        'TRIGGERED',
        'INVESTIGATING',
        'HYPOTHESIS_RECEIVED',
        'CONTEXT_RETRIEVED',
        'SYNTHESIZING',
        'EXECUTING (baseline)',
        'EXECUTING (running)',
        'VERIFYING',
        'RESOLVED',
      ]);
      expect((await harness.db.query('SELECT 1 FROM timers WHERE incident_id = $1', [id])).rows).toHaveLength(0);
      expect(await listIncidents(harness.db, { stage: 'RESOLVED' })).toHaveLength(1);
      expect(await listIncidents(harness.db, { stage: 'ESCALATED' })).toHaveLength(0);
    });

    it('the timeline is append-only in the database itself', async () => {
      const id = await openIncident();
      await expect(harness.db.query('UPDATE timeline SET summary = $1 WHERE incident_id = $2', ['rewritten', id])).rejects.toThrow(
        /append-only/,
      );
      await expect(harness.db.query('DELETE FROM timeline WHERE incident_id = $1', [id])).rejects.toThrow(/append-only/);
    });

    it('a missed deadline fires once, even with two pollers', async () => {
      const id = await openIncident();
      now = new Date(t0.getTime() + config.deadlinesMs.INVESTIGATING + 1);
      const fire = (input: Extract<SagaInput, { kind: 'deadline' }>) => withRetries(() => processInput(deps, input));
      const a = startDeadlineTimer({ db: harness.db, log, intervalMs: 60_000, clock: () => now, fire });
      const b = startDeadlineTimer({ db: harness.db, log, intervalMs: 60_000, clock: () => now, fire });
      await Promise.all([a.poll(), b.poll()]);
      await Promise.all([a.stop(), b.stop()]);
      expect(await readIncident(harness.db, id)).toMatchObject({ stage: 'ESCALATED', outcome: { reason: 'deadline_missed' } });
      const escalations = await harness.db.query("SELECT 1 FROM outbox WHERE event->>'type' = 'incident.escalated'");
      expect(escalations.rows).toHaveLength(1);
    });

    it('the relay publishes each outbox event once, in order, and marks it', async () => {
      await openIncident();
      await openIncident('other');
      const bus = new MemoryBus();
      const relay = startOutboxRelay({ db: harness.db, bus, log, intervalMs: 60_000 });
      await relay.stop();
      const remaining = await relay.drain();
      expect(await relay.drain()).toBe(0);
      const published = await collect(bus.read());
      expect(published.map((p) => p.event.type)).toEqual(['investigation.requested', 'investigation.requested']);
      expect(remaining).toBeLessThanOrEqual(2);
      expect((await harness.db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rows).toHaveLength(0);
      await bus.close();
    });

    it('the blast-radius budget holds across incidents: past it, a human approves', async () => {
      deps = { ...deps, config: { ...config, thresholdsFor: () => GateThresholds.parse({ maxAutoPerHour: 1 }) } };
      const drive = async (dedupKey: string) => {
        const id = await openIncident(dedupKey);
        for (const input of [event('hypothesis.received'), event('context.retrieved', { matches: contextMatches }), proposal(autoPlan)]) {
          await run(forIncident(id, input));
        }
        return (await readIncident(harness.db, id))!;
      };
      expect((await drive('first')).stage).toBe('EXECUTING');
      const second = await drive('second');
      expect(second.stage).toBe('AWAITING_APPROVAL');
      expect(second.gate?.reasons.join(' ')).toContain('blast-radius budget is spent');
    });

    it('a trigger after a resolution inside the stability window is a re-fire, linked to it', async () => {
      const id = await openIncident();
      await run(event('incident.resolved.external', {}, null));
      expect((await readIncident(harness.db, id))!.stage).toBe('RESOLVED');
      now = new Date(t0.getTime() + 60_000);
      await run(event('incident.triggered', {}, null));
      const incidents = await listIncidents(harness.db);
      expect(incidents).toHaveLength(2);
      const refired = incidents.find((i) => i.id !== id)!;
      expect((await readIncident(harness.db, refired.id))!.refiredFrom).toBe(id);
    });
  });
}
