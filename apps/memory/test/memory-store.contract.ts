import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import type { Db } from '@vigil/db';
import { createEvent, exampleData, type VigilEvent } from '@vigil/events';
import { collect, eventually } from '@vigil/testing';
import { parseRunbook } from '../src/domain/runbook.js';
import { ingestRunbook, searchRunbooks } from '../src/runbook-store.js';
import { buildMemory, ingestDirectory, starterRunbooksDir } from '../src/service.js';

export function memoryContract(name: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>): void {
  describe(`memory on ${name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let bus: MemoryBus;
    beforeEach(async () => {
      ({ db, cleanup } = await open());
      bus = new MemoryBus();
      const memory = await buildMemory({ bus, db }, { concurrency: 2, stabilityWindowMs: 24 * 3600_000 });
      await bus.consume({ durable: 'memory', ...memory.consumer });
    });
    afterEach(async () => {
      await bus.close();
      await cleanup();
    });

    it('ingests the starter library idempotently: created, then unchanged, then updated on a change', async () => {
      const first = await ingestDirectory(db, starterRunbooksDir);
      expect(Object.values(first).every((o) => o === 'created')).toBe(true);
      expect(Object.values(await ingestDirectory(db, starterRunbooksDir)).every((o) => o === 'unchanged')).toBe(true);
      const changed = parseRunbook(
        'x.md',
        '---\nid: pg-lock-contention\ntitle: A shorter lock runbook\nrisk: LOW\n---\n## Fix\nEnd the blocker.',
      );
      if (!changed.ok) throw new Error(changed.problems.join());
      expect(await ingestRunbook(db, changed.runbook)).toBe('updated');
    });

    it('finds the lock runbook for a lock hypothesis, first, scored in [0, 1], citing its section, with its remedy', async () => {
      await ingestDirectory(db, starterRunbooksDir);
      const matches = await searchRunbooks(db, {
        query: 'A transaction holds a row lock on orders; checkout requests wait on it and time out',
        service: 'payment-api',
        alertName: 'HighLatency',
        limit: 3,
      });
      expect(matches[0]?.citation).toMatchObject({ documentId: 'pg-lock-contention', kind: 'runbook' });
      expect(matches[0]?.citation.lines?.[0]).toBeGreaterThan(0);
      expect(matches[0]?.passage.length).toBeGreaterThan(0);
      expect(matches[0]?.remedy?.steps[0]?.action).toBe('postgres.terminate_backend');
      for (const m of matches) {
        expect(m.score).toBeGreaterThan(0);
        expect(m.score).toBeLessThanOrEqual(1);
      }
      expect(matches.map((m) => m.score)).toEqual([...matches.map((m) => m.score)].sort((a, b) => b - a));
      const redis = await searchRunbooks(db, {
        query: 'redis used memory near maxmemory, evicted keys rising',
        alertName: 'RedisMemoryHigh',
      });
      expect(redis[0]?.citation.documentId).toBe('redis-memory-pressure');
    });

    it('leaves out runbooks written for other services', async () => {
      const only = parseRunbook(
        'o.md',
        '---\nid: billing-only\ntitle: Billing queue stuck\nservices: [billing]\nrisk: LOW\n---\n## Fix\nRestart the billing queue consumer.',
      );
      if (!only.ok) throw new Error(only.problems.join());
      await ingestRunbook(db, only.runbook);
      expect((await searchRunbooks(db, { query: 'billing queue stuck', service: 'billing' })).map((m) => m.citation.documentId)).toContain(
        'billing-only',
      );
      expect(
        (await searchRunbooks(db, { query: 'billing queue stuck', service: 'payment-api' })).map((m) => m.citation.documentId),
      ).not.toContain('billing-only');
    });

    it('answers context.requested with context.retrieved, once per request', async () => {
      await ingestDirectory(db, starterRunbooksDir);
      const request = createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator', incidentId: 'inc-3' });
      await bus.publish(request);
      const [answer] = await eventually(async () => {
        const found = (await collect(bus.read({ types: ['context.retrieved'] }))).map((s) => s.event as VigilEvent<'context.retrieved'>);
        return found.length > 0 ? found : undefined;
      });
      expect(answer).toMatchObject({ incidentId: 'inc-3', causationId: request.id, source: 'memory' });
      expect(answer!.data.matches[0]?.citation.documentId).toBe('pg-lock-contention');
    });
  });
}
