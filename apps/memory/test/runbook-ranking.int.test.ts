import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPgliteDb, createPostgresDb, loadMigrations, migrate, type Db } from '@vigil/db';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { parseRunbook } from '../src/domain/runbook.js';
import { ingestRunbook, searchRunbooks } from '../src/runbook-store.js';
import { migrationsDir } from '../src/service.js';

/** A runbook from its front-matter fields and body, through the real parser. */
function runbook(id: string, fields: { title: string; alerts?: string[]; symptoms?: string[]; body: string }) {
  const list = (items: string[] = []) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;
  const parsed = parseRunbook(
    `${id}.md`,
    `---\nid: ${id}\ntitle: ${fields.title}\nalerts: ${list(fields.alerts)}\nsymptoms: ${list(fields.symptoms)}\nrisk: LOW\n---\n## Fix\n${fields.body}\n`,
  );
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.runbook;
}

/** Generic runbooks that all speak of slow, failing requests: the words every library repeats. */
const common = Array.from({ length: 6 }, (_, i) =>
  runbook(`generic-${i}`, {
    title: `Slow requests in area ${i}`,
    symptoms: ['high latency', 'requests time out', 'errors'],
    body: 'Requests are slow and time out with errors; check the dashboard and the latency of each request.',
  }),
);

function ranking(name: string, open: () => Promise<{ db: Db; cleanup: () => Promise<void> }>): void {
  describe(`runbook ranking on ${name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ db, cleanup } = await open());
      await migrate(db, await loadMigrations(migrationsDir));
      for (const r of common) await ingestRunbook(db, r);
    });
    afterEach(() => cleanup());

    it('weighs a rare word above words every runbook repeats', async () => {
      await ingestRunbook(
        db,
        runbook('replica-lag', { title: 'Replica lag', symptoms: ['replication lag'], body: 'Replay falls behind.' }),
      );
      const [first] = await searchRunbooks(db, { query: 'requests time out with errors and high latency; replication is behind' });
      expect(first?.citation.documentId).toBe('replica-lag');
    });

    it('finds the runbook that carries the exact alert name even when every word of the query is common', async () => {
      await ingestRunbook(db, runbook('checkout-slow', { title: 'Checkout slow', alerts: ['HighLatency'], body: 'Look at checkout.' }));
      const matches = await searchRunbooks(db, { query: 'requests are slow with high latency', alertName: 'highlatency', limit: 3 });
      expect(matches[0]?.citation.documentId).toBe('checkout-slow');
      expect(matches[0]?.score).toBeGreaterThan(matches[1]?.score ?? 0);
    });

    it('matches the words of compound alert names on both sides', async () => {
      await ingestRunbook(
        db,
        runbook('crash-loop', { title: 'Pods restarting', alerts: ['CrashLoopBackOff'], body: 'Read the previous logs.' }),
      );
      const [first] = await searchRunbooks(db, { query: 'requests fail with errors', alertName: 'KubePodCrashLooping' });
      expect(first?.citation.documentId).toBe('crash-loop');
    });

    it('answers nothing, not an error, for a query of words no runbook knows', async () => {
      expect(await searchRunbooks(db, { query: 'zyxwv qqqq 12345' })).toEqual([]);
      expect(await searchRunbooks(db, { query: 'the of and' })).toEqual([]);
    });
  });
}

ranking('PostgreSQL', async () => {
  const schema = uniqueName('memory_rank');
  const db = await createPostgresDb({ url: await databaseUrl(), schema });
  return {
    db,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  };
});

ranking('PGlite', async () => {
  const db = await createPgliteDb({ schema: 'memory' });
  return { db, cleanup: () => db.close() };
});
