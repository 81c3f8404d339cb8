import { readdir } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { createEvent, exampleData, type VigilEvent } from '@vigil/events';
import { collect, databaseUrl, eventually, freePort, natsUrl, startServiceProcess, uniqueName } from '@vigil/testing';
import { starterRunbooksDir } from '../src/service.js';
import { startFakeSanity } from './fakes/sanity.fake.js';
import { startFakeSenso } from './fakes/senso.fake.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('the memory process pushes runbooks to Senso, merges its matches, leaves out a Sanity that refuses it, and never logs a credential', async () => {
  const prefix = uniqueName('memory');
  const schema = uniqueName('memory');
  const nats = await natsUrl();
  const pg = await databaseUrl();
  cleanups.push(() => deleteNatsStreams({ url: nats, prefix }));
  cleanups.push(async () => {
    const db = await createPostgresDb({ url: pg, schema });
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
  });
  // Sanity expects another token and quotes the one it was given in its 401.
  const sanity = await startFakeSanity({
    projectId: 'vigil-proc',
    dataset: 'runbooks',
    token: 'not-ours',
    documents: [],
    quoteCredentials: true,
  });
  cleanups.push(() => sanity.close());
  const senso = await startFakeSenso({ apiKey: 'tgr_test_ProcessKey55', quoteCredentials: true });
  cleanups.push(() => senso.close());
  const bus: Bus = await createNatsBus({ url: nats, name: 'memory-knowledge-test', prefix });
  cleanups.push(() => bus.close());

  const port = await freePort();
  const service = await startServiceProcess({
    entry: 'apps/memory/src/main.ts',
    port,
    env: {
      NATS_URL: nats,
      VIGIL_SUBJECT_PREFIX: prefix,
      DATABASE_URL: pg,
      MEMORY_DB_SCHEMA: schema,
      MEMORY_PORT: String(port),
      LOG_LEVEL: 'debug',
      SANITY_PROJECT_ID: 'vigil-proc',
      SANITY_DATASET: 'runbooks',
      SANITY_API_TOKEN: 'skProcessSanityToken42',
      SANITY_API_HOST: sanity.url,
      SANITY_API_VERSION: '2025-02-19',
      SENSO_API_KEY: 'tgr_test_ProcessKey55',
      SENSO_BASE_URL: senso.baseUrl,
      SENSO_INGEST_RUNBOOKS: 'true',
    },
  });
  cleanups.push(() => service.stop());

  const starter = (await readdir(starterRunbooksDir)).filter((f) => f.endsWith('.md')).length;
  const pushed = await eventually(async () => {
    const raw = senso.requests.filter((r) => r.path === '/api/v1/content/raw');
    return raw.length >= starter ? raw : undefined;
  });
  expect(pushed).toHaveLength(starter);
  expect(pushed.map((r) => (r.body as { title: string }).title)).toEqual(
    expect.arrayContaining([expect.stringMatching(/ \[runbook pg-lock-contention\]$/)]),
  );

  const request = createEvent('context.requested', exampleData['context.requested'], { source: 'orchestrator', incidentId: 'inc-kp1' });
  await bus.publish(request);
  const answer = await eventually(async () => {
    const found = await collect(bus.read({ types: ['context.retrieved'] }));
    return found[0]?.event as VigilEvent<'context.retrieved'> | undefined;
  });
  expect(answer.causationId).toBe(request.id);
  const pgLock = answer.data.matches.filter((m) => m.citation.documentId === 'pg-lock-contention');
  expect(pgLock).toHaveLength(1);
  expect(pgLock[0]?.remedy).toBeDefined();
  expect(sanity.requests.map((r) => r.path)).toEqual(['/v2025-02-19/data/query/runbooks']);
  expect(senso.requests.filter((r) => r.path === '/api/v1/search')).toHaveLength(1);

  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  expect(metrics).toMatch(/vigil_knowledge_source_queries_total\{[^}]*source="sanity"[^}]*outcome="unauthorized"[^}]*\} 1/);
  expect(metrics).toMatch(/vigil_knowledge_source_queries_total\{[^}]*source="senso"[^}]*outcome="ok"[^}]*\} 1/);
  expect(metrics).toMatch(new RegExp(`vigil_knowledge_source_ingests_total\\{[^}]*source="senso"[^}]*outcome="ok"[^}]*\\} ${starter}`));

  const output = service.output();
  expect(output).toContain('knowledge source left out of the answer');
  expect(output).not.toContain('skProcessSanityToken42');
  expect(output).not.toContain('tgr_test_ProcessKey55');
});
