import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { createMemoryCache } from '@vigil/cache';
import { loadMigrations, migrate, type Db } from '@vigil/db';
import { isVigilError } from '@vigil/errors';
import { createEvent, exampleData } from '@vigil/events';
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
import { listIncidents, readIncident, readTimeline, readTimelineHead } from '../src/store/incident-store.js';

export interface StoreHarness {
  db: Db;
  cleanup(): Promise<void>;
}

const exampleTrigger = exampleData['incident.triggered'];

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

    it('the same alert through a second channel attaches to the open incident; its key then finds it', async () => {
      const viaWebhook = { source: 'alertmanager' as const, dedupKey: 'alertmanager:3f2a9c' };
      const viaPager = { source: 'events_v2' as const, dedupKey: 'c0ffee-group-key' };
      await run(event('incident.triggered', viaWebhook, null));
      await run(event('incident.triggered', viaPager, null));
      await run(event('incident.triggered', viaPager, null)); // the pager's own repeat
      const incidents = await listIncidents(harness.db);
      expect(incidents).toHaveLength(1);
      const incident = (await readIncident(harness.db, incidents[0]!.id))!;
      expect(incident).toMatchObject({ dedupKey: viaWebhook.dedupKey, occurrences: 3, correlated: [viaPager] });
      const notes = (await readTimeline(harness.db, incident.id)).filter((e) => e.kind === 'note').map((e) => e.summary);
      expect(notes).toEqual([
        'the same alert (HighLatency) reported through events_v2: correlated with this incident',
        'the alert fired again (3 occurrences): attached to this incident',
      ]);
      // A resolve through the second channel closes the one incident.
      await run(event('incident.resolved.external', { source: 'events_v2', dedupKey: viaPager.dedupKey }, null));
      expect((await readIncident(harness.db, incident.id))!.stage).toBe('RESOLVED');
    });

    it("a PagerDuty trigger for an alert Alertmanager opened gives the incident PagerDuty's incident id; its notes reach it", async () => {
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:3f2a9c' }, null));
      // A trigger naming both the alert and the paging system's incident id. No channel sends both
      // today (ingest's PagerDuty v3 webhooks name no alert; the example's alertName stands in).
      const viaPagerDuty = { source: 'pagerduty' as const, dedupKey: 'd3640fbd41094207a1c11e58e46b1662', externalIncidentId: 'PGR0VU2' };
      await run(event('incident.triggered', viaPagerDuty, null));
      const incidents = await listIncidents(harness.db);
      expect(incidents).toHaveLength(1);
      const id = incidents[0]!.id;
      expect(await readIncident(harness.db, id)).toMatchObject({
        source: 'alertmanager',
        externalIncidentId: 'PGR0VU2',
        correlated: [{ source: 'pagerduty', dedupKey: viaPagerDuty.dedupKey }],
      });
      const column = await harness.db.query<{ external_incident_id: string | null }>(
        'SELECT external_incident_id FROM incidents WHERE id = $1',
        [id],
      );
      expect(column.rows).toEqual([{ external_incident_id: 'PGR0VU2' }]);
      // A note on the PagerDuty incident (Cleric's, say) finds the incident by that id.
      await run(
        event(
          'incident.annotated',
          {
            externalIncidentId: 'PGR0VU2',
            note: {
              id: 'P2LA89X',
              content: 'Root cause: lock on orders',
              author: { id: 'PCLERIC', name: 'Cleric' },
              createdAt: t0.toISOString(),
            },
          },
          null,
        ),
      );
      const timeline = await readTimeline(harness.db, id);
      expect(timeline.filter((e) => e.kind === 'note').map((e) => e.summary)).toEqual([
        "the same alert (HighLatency) reported through pagerduty: correlated with this incident; its external incident PGR0VU2 is now this incident's",
        'note from Cleric on pagerduty',
      ]);
      expect(timeline.at(-1)!.data).toMatchObject({ content: 'Root cause: lock on orders' });
      expect(verifyChain(timeline).valid).toBe(true);
    });

    it('does not correlate distinct alerts: another alert name, another service, or other keys from the same source', async () => {
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'am:1' }, null));
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'am:2' }, null)); // another instance
      await run(event('incident.triggered', { source: 'events_v2', dedupKey: 'v2:1', alertName: 'DiskFull' }, null));
      await run(event('incident.triggered', { source: 'events_v2', dedupKey: 'v2:2', service: 'checkout-web' }, null));
      const { alertName: _none, ...withoutName } = exampleTrigger;
      await run({ kind: 'event', event: createEvent('incident.triggered', { ...withoutName, dedupKey: 'v2:3' }, { source: 'test' }) });
      const incidents = await listIncidents(harness.db);
      expect(incidents.map((i) => i.dedupKey).sort()).toEqual(['am:1', 'am:2', 'v2:1', 'v2:2', 'v2:3']);
    });

    it('does not guess between instances: with two open incidents for the alert, the other channel opens its own', async () => {
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'am:i1' }, null));
      now = new Date(t0.getTime() + 1000);
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'am:i2' }, null));
      await run(event('incident.triggered', { source: 'events_v2', dedupKey: 'ev:i1' }, null));
      await run(event('incident.triggered', { source: 'events_v2', dedupKey: 'ev:i2' }, null));
      const incidents = await listIncidents(harness.db);
      expect(incidents.map((i) => i.dedupKey).sort()).toEqual(['am:i1', 'am:i2', 'ev:i1', 'ev:i2']);
      // A resolve through one instance's key closes that instance's incident only.
      await run(event('incident.resolved.external', { source: 'events_v2', dedupKey: 'ev:i1' }, null));
      const stages = Object.fromEntries((await listIncidents(harness.db)).map((i) => [i.dedupKey, i.stage]));
      expect(stages).toEqual({ 'am:i1': 'INVESTIGATING', 'am:i2': 'INVESTIGATING', 'ev:i1': 'RESOLVED', 'ev:i2': 'INVESTIGATING' });
    });

    it('two channels racing to open the same alert open one incident', async () => {
      await Promise.all(
        ['alertmanager', 'events_v2', 'pagerduty'].flatMap((source) =>
          [1, 2, 3, 4].map(() => run(event('incident.triggered', { source: source as 'alertmanager', dedupKey: `${source}:k` }, null))),
        ),
      );
      const incidents = await listIncidents(harness.db);
      expect(incidents).toHaveLength(1);
      expect(incidents[0]!.occurrences).toBe(12);
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

    it('the relay publishes each outbox event once, in outbox order, and marks it', async () => {
      const ids = [await openIncident('first'), await openIncident('second'), await openIncident('third')];
      const bus = new MemoryBus();
      const relay = startOutboxRelay({ db: harness.db, bus, log, intervalMs: 60_000 });
      await relay.stop(); // its first pass may already have published: drain() finishes the rest
      await relay.drain();
      expect(await relay.drain()).toBe(0);
      const published = await collect(bus.read());
      expect(published.map((p) => p.event.incidentId)).toEqual(ids);
      expect((await harness.db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rows).toHaveLength(0);
      await bus.close();
    });

    it('an outbox row that can never be published is set aside; the rows behind it still go out', async () => {
      await harness.db.query("INSERT INTO outbox (event_id, incident_id, event) VALUES ('poison', 'x', '{\"not\":\"an event\"}')");
      const id = await openIncident();
      const bus = new MemoryBus();
      const relay = startOutboxRelay({ db: harness.db, bus, log, intervalMs: 60_000 });
      await relay.stop();
      await relay.drain();
      await relay.drain();
      expect((await collect(bus.read())).map((p) => p.event.incidentId)).toEqual([id]);
      const { rows } = await harness.db.query<{ error: string }>(
        "SELECT error FROM outbox WHERE event_id = 'poison' AND failed_at IS NOT NULL",
      );
      expect(rows[0]?.error).toContain('invalid');
      await bus.close();
    });

    it('a resolve that arrives before its trigger is retried, not swallowed', async () => {
      const resolve = event('incident.resolved.external', {}, null);
      const error = await processInput(deps, resolve).catch((e: unknown) => e);
      expect(isVigilError(error, 'INCIDENT_NOT_YET_KNOWN')).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(true);
      const id = await openIncident();
      await run(resolve); // the redelivery, once the trigger is in
      expect((await readIncident(harness.db, id))!.stage).toBe('RESOLVED');
      // A resolve for an incident already closed is recorded and ignored, not retried.
      expect(await run(event('incident.resolved.external', {}, null))).toMatchObject({ duplicate: false, result: { ignored: true } });
    });

    it('stores alert text Postgres would refuse (NUL characters, lone surrogates)', async () => {
      await run(event('incident.triggered', { title: 'bad\u0000bytes \ud800 here' }, null));
      const [incident] = await listIncidents(harness.db);
      expect(incident!.title).toBe('bad\ufffdbytes \ufffd here');
      expect(verifyChain(await readTimeline(harness.db, incident!.id)).valid).toBe(true);
    });

    it('records the head of the timeline on the incident, so a cut-off copy does not verify', async () => {
      const id = await openIncident();
      const timeline = await readTimeline(harness.db, id);
      const head = await readTimelineHead(harness.db, id);
      expect(head).toEqual({ seq: timeline.length, hash: timeline.at(-1)!.hash });
      expect(verifyChain(timeline, head!).valid).toBe(true);
      expect(verifyChain(timeline.slice(0, -1), head!).valid).toBe(false);
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

    it('a trigger after Vigil fixed it, inside the stability window, is a re-fire linked to it; after a human resolution it is not', async () => {
      const id = await openIncident();
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:again' }, null)); // correlated
      for (const input of [
        event('hypothesis.received'),
        event('context.retrieved', { matches: contextMatches }),
        proposal(autoPlan),
        verified('baseline', false),
      ]) {
        await run(forIncident(id, input));
      }
      const executionId = (await readIncident(harness.db, id))!.steps[0]!.executionId;
      await run(forIncident(id, event('execution.completed', { executionId, stepId: 'step-1', status: 'succeeded', summary: 'ok' })));
      await run(forIncident(id, verified('proof', true)));
      now = new Date(t0.getTime() + 60_000);
      // The alert again, first through a channel that had been correlated with the fixed incident.
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'alertmanager:again' }, null));
      const refired = (await listIncidents(harness.db)).find((i) => i.id !== id)!;
      expect((await readIncident(harness.db, refired.id))!.refiredFrom).toBe(id);

      // Another alert of the same channel as the re-fire: its own incident, not correlated.
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'manual' }, null));
      const other = (await listIncidents(harness.db)).find((i) => i.dedupKey === 'manual')!.id;
      await run(event('incident.resolved.external', { dedupKey: 'manual' }, null));
      expect((await readIncident(harness.db, other))!.stage).toBe('RESOLVED');
      await run(event('incident.triggered', { source: 'alertmanager', dedupKey: 'manual' }, null));
      const again = (await listIncidents(harness.db)).find((i) => i.dedupKey === 'manual' && i.id !== other)!;
      expect((await readIncident(harness.db, again.id))!.refiredFrom).toBeUndefined();
    });
  });
}
