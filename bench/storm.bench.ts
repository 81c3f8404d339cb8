import { Pool } from 'undici';
import { deleteNatsStreams } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { freePort, startServiceProcess } from '@vigil/testing';
import type { Benchmark } from './harness.js';

const ALERTS = Number(process.env.BENCH_STORM_ALERTS ?? 100_000);
const FINGERPRINTS = Number(process.env.BENCH_STORM_FINGERPRINTS ?? 1000);
const CONCURRENCY = 64;
const ROUTING_KEY = 'R0UTINGKEY0000000000000000000bench';

/**
 * An alert storm through the real topology: ingest and the orchestrator as their own processes
 * on NATS, PostgreSQL and Redis. Every alert must be counted (as an occurrence) on exactly one
 * incident per fingerprint: none lost, none doubled.
 */
export const stormBenchmark: Benchmark = {
  name: 'storm: alerts over fingerprints, end to end',
  async run() {
    const infra = {
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      VIGIL_SUBJECT_PREFIX: `storm_${Date.now()}`,
      LOG_LEVEL: 'error',
    };
    const schema = `storm_${Date.now()}`;
    const [ingestPort, orchestratorPort] = [await freePort(), await freePort()];
    const orchestrator = await startServiceProcess({
      entry: 'apps/orchestrator/src/main.ts',
      port: orchestratorPort,
      env: {
        ...infra,
        ORCHESTRATOR_HOST: '127.0.0.1',
        ORCHESTRATOR_PORT: String(orchestratorPort),
        ORCHESTRATOR_DB_SCHEMA: schema,
        DEADLINE_INVESTIGATING_MS: '3600000',
      },
    });
    const ingest = await startServiceProcess({
      entry: 'apps/ingest/src/main.ts',
      port: ingestPort,
      env: { ...infra, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(ingestPort), VIGIL_ROUTING_KEYS: ROUTING_KEY },
    });
    const db = await createPostgresDb({ url: infra.DATABASE_URL, schema });
    const pool = new Pool(ingest.url, { connections: CONCURRENCY });
    try {
      const started = performance.now();
      let next = 0;
      let rejected = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ALERTS) {
            const i = next++;
            const response = await pool.request({
              path: '/v2/enqueue',
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                routing_key: ROUTING_KEY,
                event_action: 'trigger',
                dedup_key: `storm-${i % FINGERPRINTS}`,
                payload: { summary: `alert ${i}`, source: 'storm', severity: 'error', component: 'payment-api', custom_details: { n: i } },
              }),
            });
            await response.body.dump();
            if (response.statusCode !== 202) rejected++;
          }
        }),
      );
      const acceptedMs = performance.now() - started;
      let counted = { incidents: 0, occurrences: 0 };
      const deadline = Date.now() + 15 * 60_000;
      while (Date.now() < deadline) {
        const { rows } = await db.query<{ incidents: number; occurrences: number }>(
          "SELECT count(*)::int AS incidents, coalesce(sum((state->>'occurrences')::int), 0)::int AS occurrences FROM incidents",
        );
        counted = rows[0] ?? counted;
        if (counted.occurrences >= ALERTS - rejected) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const processedMs = performance.now() - started;
      return {
        name: this.name,
        figures: {
          alerts: ALERTS,
          fingerprints: FINGERPRINTS,
          rejected,
          incidents: counted.incidents,
          alerts_counted: counted.occurrences,
          lost: ALERTS - rejected - counted.occurrences,
          ingest_alerts_per_s: Math.round((ALERTS / acceptedMs) * 1000),
          end_to_end_alerts_per_s: Math.round((counted.occurrences / processedMs) * 1000),
        },
        ratios: {},
        goals: {},
        notes: [
          `exactly ${FINGERPRINTS} incidents and 0 lost is the goal: ${counted.incidents === FINGERPRINTS && counted.occurrences === ALERTS ? 'met' : 'NOT met'}`,
        ],
      };
    } finally {
      await pool.close();
      await ingest.stop();
      await orchestrator.stop();
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
      await deleteNatsStreams({ url: infra.NATS_URL, prefix: infra.VIGIL_SUBJECT_PREFIX });
    }
  },
};
