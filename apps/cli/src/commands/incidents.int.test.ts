import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNatsStreams } from '@vigil/bus';
import { createPostgresDb } from '@vigil/db';
import { databaseUrl, eventually, freePort, natsUrl, redisUrl, startServiceProcess, uniqueName, type ServiceProcess } from '@vigil/testing';
import { vigil } from '../../test/run-vigil.js';

const SECRET = 'whsec-e2e-0123456789abcdef';
const TOKEN = 'ana-e2e-token-0123456789';

describe('a PagerDuty webhook through ingest, JetStream and the orchestrator, read back with the CLI', () => {
  let ingest: ServiceProcess;
  let orchestrator: ServiceProcess;
  let env: Record<string, string>;
  let dir: string;
  const prefix = uniqueName('e2e');
  const schema = uniqueName('orch');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
    const infra = {
      NATS_URL: await natsUrl(),
      DATABASE_URL: await databaseUrl(),
      REDIS_URL: await redisUrl(),
      VIGIL_SUBJECT_PREFIX: prefix,
    };
    const [ingestPort, orchestratorPort] = [await freePort(), await freePort()];
    ingest = await startServiceProcess({
      entry: 'apps/ingest/src/main.ts',
      port: ingestPort,
      env: { ...infra, INGEST_HOST: '127.0.0.1', INGEST_PORT: String(ingestPort), PAGERDUTY_WEBHOOK_SECRETS: SECRET },
    });
    orchestrator = await startServiceProcess({
      entry: 'apps/orchestrator/src/main.ts',
      port: orchestratorPort,
      env: {
        ...infra,
        ORCHESTRATOR_HOST: '127.0.0.1',
        ORCHESTRATOR_PORT: String(orchestratorPort),
        ORCHESTRATOR_DB_SCHEMA: schema,
        ORCHESTRATOR_API_TOKENS: `ana:${TOKEN}`,
      },
    });
    env = { ORCHESTRATOR_URL: orchestrator.url, VIGIL_API_TOKEN: TOKEN };
  }, 60_000);

  afterAll(async () => {
    expect(await orchestrator?.stop()).toBe(0);
    expect(await ingest?.stop()).toBe(0);
    await deleteNatsStreams({ url: await natsUrl(), prefix });
    const db = await createPostgresDb({ url: await databaseUrl() });
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  let incidentId = '';

  it('the signed webhook opens an incident that the orchestrator drives to INVESTIGATING', async () => {
    const body = JSON.stringify({
      event: {
        id: '01E2EWEBHOOK0000000000000',
        event_type: 'incident.triggered',
        resource_type: 'incident',
        occurred_at: '2026-11-22T10:00:00.000Z',
        agent: null,
        data: {
          id: 'PE2E001',
          type: 'incident',
          title: 'payment-api p95 latency above 2s',
          incident_key: 'payment-api/HighLatency',
          urgency: 'high',
          service: { id: 'PSVC', summary: 'payment-api', type: 'service_reference' },
        },
      },
    });
    const response = await fetch(`${ingest.url}/webhooks/pagerduty`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-pagerduty-signature': `v1=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
    });
    expect(response.status).toBe(202);
    const listed = await eventually(
      async () => {
        const result = await vigil(['incidents', 'list', '--json'], env);
        const incidents = JSON.parse(result.stdout || '[]') as Array<{ id: string; stage: string }>;
        return incidents.length === 1 && incidents[0]!.stage === 'INVESTIGATING' ? incidents : undefined;
      },
      { timeoutMs: 20_000, message: 'incident listed in INVESTIGATING' },
    );
    incidentId = listed[0]!.id;
    const table = await vigil(['incidents', 'list', '--stage', 'INVESTIGATING'], env);
    expect(table.stdout).toContain(incidentId);
    expect(table.stdout).toContain('payment-api');
  });

  it('shows the incident with its timeline, the command it published, and an intact chain', async () => {
    const shown = await vigil(['incidents', 'show', incidentId], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('INVESTIGATING');
    expect(shown.stdout).toContain('received incident.triggered from ingest');
    expect(shown.stdout).toContain('asked the investigator for a root-cause hypothesis');
    expect(shown.stdout).toContain('chain intact');
    // The outbox relay publishes the command just after the stage commits: read until it is there.
    const busEnv = { NATS_URL: await natsUrl(), VIGIL_SUBJECT_PREFIX: prefix };
    const events = await eventually(
      async () => {
        const tail = await vigil(['events', 'tail', '--incident', incidentId], busEnv);
        return tail.stdout.includes('investigation.requested') && tail;
      },
      { timeoutMs: 20_000, message: 'investigation.requested on the bus' },
    );
    expect(events.stdout).toContain('investigation.requested');
  });

  it('exports the record, verifies it, and catches a tampered copy', async () => {
    const file = join(dir, 'record.json');
    expect((await vigil(['incidents', 'export', incidentId, '--out', file], env)).code).toBe(0);
    const verified = await vigil(['incidents', 'verify', '--file', file], env);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^intact: \d+ entries/);
    expect((await vigil(['incidents', 'verify', incidentId], env)).code).toBe(0);
    const record = JSON.parse(await readFile(file, 'utf8'));
    const cut = { ...record, timeline: record.timeline.slice(0, -1) };
    await writeFile(file, JSON.stringify(cut));
    const truncated = await vigil(['incidents', 'verify', '--file', file], env);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toContain('its head says');
    record.timeline[1].summary = 'nothing happened here';
    await writeFile(file, JSON.stringify(record));
    const broken = await vigil(['incidents', 'verify', '--file', file], env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('BROKEN at entry 2');
  });

  it('replays the incident with no differences', async () => {
    const replayed = await vigil(['replay', '--incident', incidentId], env);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain('0 differences; final stage recorded INVESTIGATING, replayed INVESTIGATING');
  });

  it('says which variable to set without a token, and when the orchestrator is not there', async () => {
    const noToken = await vigil(['incidents', 'list'], { ORCHESTRATOR_URL: env.ORCHESTRATOR_URL! });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('VIGIL_API_TOKEN');
    const nowhere = await vigil(['incidents', 'list'], { ORCHESTRATOR_URL: 'http://127.0.0.1:1' });
    expect(nowhere.stderr).toContain('ORCHESTRATOR_UNREACHABLE');
  });
});
