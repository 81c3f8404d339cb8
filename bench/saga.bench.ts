import pg from 'pg';
import { createMemoryCache } from '@vigil/cache';
import { createPostgresDb, loadMigrations, migrate } from '@vigil/db';
import { createEvent, exampleData, uuidv7, type VigilEvent } from '@vigil/events';
import { migrationsDir, orchestratorConfig, processInput, sagaConfigFrom, policyFrom, PolicyFile } from '@vigil/orchestrator';
import { loadConfig } from '@vigil/platform';
import { createCatalogSafetyCheck } from '@vigil/policy';
import { lanes, round, type Benchmark } from './harness.js';

const COUNT = Number(process.env.BENCH_SAGA_TRANSITIONS ?? 3000);
const CONCURRENCY = 8;

const triggers = (tag: string): VigilEvent[] =>
  Array.from(
    { length: COUNT },
    (_, i) =>
      createEvent(
        'incident.triggered',
        { ...exampleData['incident.triggered'], dedupKey: `${tag}-${i}` },
        { source: 'bench' },
      ) as VigilEvent,
  );

/** Opening an incident through the saga: inbox, locks, transition, state, chained timeline, outbox, timer. */
async function sagaRun(url: string, schema: string): Promise<number> {
  const db = await createPostgresDb({ url, schema, maxConnections: CONCURRENCY + 2 });
  try {
    await migrate(db, await loadMigrations(migrationsDir));
    const deps = {
      db,
      cache: createMemoryCache(),
      config: sagaConfigFrom(loadConfig(orchestratorConfig, {}), policyFrom(PolicyFile.parse({}))),
      safety: createCatalogSafetyCheck(),
      clock: () => new Date(),
    };
    const inputs = triggers(schema);
    const started = performance.now();
    await lanes(inputs.length, CONCURRENCY, (i) => processInput(deps, { kind: 'event', event: inputs[i] as VigilEvent }));
    return performance.now() - started;
  } finally {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  }
}

/** The same statements in a raw `pg` transaction (simplified where they only read), prepared, with values made beforehand. */
async function rawRun(url: string, schema: string): Promise<number> {
  const setup = await createPostgresDb({ url, schema });
  await migrate(setup, await loadMigrations(migrationsDir));
  await setup.close();
  const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY + 2, options: `-c search_path=${schema}` });
  const state = JSON.stringify({ sample: 'x'.repeat(900) });
  const data = JSON.stringify({ sample: 'y'.repeat(300) });
  const event = JSON.stringify(
    createEvent('investigation.requested', exampleData['investigation.requested'], { source: 'bench', incidentId: 'i' }),
  );
  try {
    const started = performance.now();
    await lanes(COUNT, CONCURRENCY, async (i) => {
      const client = await pool.connect();
      const id = uuidv7();
      const key = `${schema}-${i}`;
      const now = new Date().toISOString();
      // Each statement prepared once per connection, as the saga's store does.
      const query = (name: string, text: string, values: unknown[]) => client.query({ name, text, values });
      try {
        await client.query('BEGIN');
        await query('inbox', 'INSERT INTO vigil_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', ['orchestrator', id]);
        const byKey = `SELECT state, version FROM incidents WHERE closed_at IS NULL AND id = ANY (ARRAY(
            SELECT id FROM incidents WHERE dedup_key = $1 AND closed_at IS NULL
            UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1)) ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE`;
        await query('byKey', byKey, [key]);
        // Correlation across channels: announce this channel, wait for the others', look for their incident.
        await query(
          'announce',
          'SELECT pg_advisory_xact_lock_shared(hashtext($1)), pg_advisory_lock(hashtext($2)), pg_advisory_unlock(hashtext($2))',
          [`${schema}:events_v2`, `${schema}:alertmanager`],
        );
        await query(
          'sameAlert',
          `SELECT state, version FROM incidents WHERE closed_at IS NULL AND id = ANY (ARRAY(
             SELECT id FROM incidents WHERE dedup_key = $1 AND closed_at IS NULL
             UNION ALL (SELECT id FROM incidents WHERE closed_at IS NULL AND service = 'payment-api'
                        AND state ->> 'alertName' = 'HighLatency' AND state ->> 'source' = ANY ($2::text[]) LIMIT 1)))
           LIMIT 1 FOR UPDATE`,
          [key, ['alertmanager', 'pagerduty', 'manual']],
        );
        await query(
          'refired',
          `SELECT id FROM incidents
           WHERE id = ANY (ARRAY(SELECT id FROM incidents WHERE dedup_key = $1 UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
             AND stage = 'RESOLVED' AND closed_at >= $2 ORDER BY closed_at DESC LIMIT 1`,
          [key, now],
        );
        // The incident, its four entries, the outbox row and the timer in one statement, as the saga writes them.
        await query(
          'write',
          `WITH saved AS (INSERT INTO incidents (id, version, stage, service, dedup_key, external_incident_id, triggered_at, updated_at,
                                                 closed_at, state, timeline_head_seq, timeline_head_hash)
                          VALUES ($1, 1, 'INVESTIGATING', 'payment-api', $2, null, $3, $3, null, $4, 4, 'h') RETURNING 1),
                entries AS (INSERT INTO timeline (incident_id, seq, at, kind, summary, event_id, event_type, data, prev_hash, hash)
                            SELECT $1, seq, $3, 'note', 's', null, null, $5, 'p', 'h' FROM generate_series(1, 4) seq),
                queued AS (INSERT INTO outbox (event_id, incident_id, event) SELECT unnest($6::text[]), $1, unnest($7::jsonb[])
                           ON CONFLICT (event_id) DO NOTHING),
                deadline AS (INSERT INTO timers (incident_id, stage, due_at) VALUES ($1, 'INVESTIGATING', $3)
                             ON CONFLICT (incident_id) DO UPDATE SET stage = excluded.stage, due_at = excluded.due_at)
           SELECT count(*)::int AS saved FROM saved`,
          [id, key, now, state, data, [uuidv7()], [event]],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    return performance.now() - started;
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
}

export const sagaBenchmark: Benchmark = {
  name: 'saga: transitions committed to PostgreSQL',
  async run() {
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    let raw = Infinity;
    let saga = Infinity;
    for (let i = 0; i < 2; i++) {
      raw = Math.min(raw, await rawRun(url, `bench_raw_${Date.now()}`));
      saga = Math.min(saga, await sagaRun(url, `bench_saga_${Date.now()}`));
    }
    const perSecond = (ms: number): number => Math.round((COUNT / ms) * 1000);
    return {
      name: this.name,
      figures: { transitions: COUNT, raw_transactions_per_s: perSecond(raw), saga_transitions_per_s: perSecond(saga) },
      ratios: { saga_vs_raw_pg: round(raw / saga) },
      goals: { saga_vs_raw_pg: 0.7 },
      notes: [
        `${CONCURRENCY} at once; each opens an incident: inbox claim, two lookups, incident, 4 timeline entries, chain head, outbox, timer`,
      ],
    };
  },
};
