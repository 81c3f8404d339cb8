import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createEvent, type VigilEvent } from '@vigil/events';
import {
  collect,
  createFaultDatabase,
  databaseUrl,
  eventually,
  freePort,
  makeLockPileUp,
  natsUrl,
  repoRoot,
  sleep,
  startServiceProcess,
  uniqueName,
} from '@vigil/testing';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('the investigator process probes the service its catalog names, over real JetStream, and never prints the DSN password', async () => {
  const prefix = uniqueName('investigator');
  const url = await natsUrl();
  cleanups.push(() => deleteNatsStreams({ url, prefix }));
  const fault = await createFaultDatabase();
  cleanups.push(() => fault.drop());
  const pileUp = await makeLockPileUp(fault, 2);
  cleanups.push(() => pileUp.release());
  // Trust auth ignores the password, so a canary can ride in the DSN and must never come out.
  const dsn = new URL(fault.dsn);
  dsn.username = 'postgres';
  dsn.password = 'canary-pw-7731';
  const dir = await mkdtemp(join(tmpdir(), 'vigil-catalog-'));
  const catalogPath = join(dir, 'catalog.yaml');
  await writeFile(catalogPath, 'services:\n  payment-api:\n    postgres: ${PAYMENT_DB_PROBE_URL}\n');
  const bus: Bus = await createNatsBus({ url, name: 'investigator-process-test', prefix });
  cleanups.push(() => bus.close());
  const port = await freePort();
  const schema = uniqueName('inv_proc');
  const service = await startServiceProcess({
    entry: 'apps/investigator/src/main.ts',
    port,
    env: {
      NATS_URL: url,
      DATABASE_URL: await databaseUrl(),
      INVESTIGATOR_DB_SCHEMA: schema,
      VIGIL_SUBJECT_PREFIX: prefix,
      INVESTIGATOR_PORT: String(port),
      VIGIL_SERVICE_CATALOG: catalogPath,
      PAYMENT_DB_PROBE_URL: dsn.toString(),
      INVESTIGATOR_LOCK_WAIT_MIN_S: '0.1',
      LOG_LEVEL: 'debug',
    },
  });
  cleanups.push(() => service.stop());
  await sleep(200);
  const request = createEvent(
    'investigation.requested',
    { service: 'payment-api', title: 'checkout is slow', labels: {}, clericWaitMs: 30_000 },
    { source: 'orchestrator', incidentId: 'inc-proc-1' },
  );
  await bus.publish(request);
  const answer = await eventually(async () => {
    const found = await collect(bus.read({ types: ['hypothesis.received'] }));
    return found[0]?.event as VigilEvent<'hypothesis.received'> | undefined;
  });
  expect(answer.causationId).toBe(request.id);
  expect(answer.data.hypothesis.evidence[0]?.facts).toMatchObject({ blocker_pid: pileUp.blockerPid, waiting: 2 });
  // The counter moves once the handler has finished, a moment after the answer is on the bus.
  const metrics = await eventually(async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return /vigil_investigator_hypotheses_total\{[^}]*origin="probes"[^}]*\} 1/.test(text) && text;
  });
  expect(metrics).toMatch(/vigil_investigator_hypotheses_total\{[^}]*origin="probes"[^}]*\} 1/);
  expect(service.output()).toContain('probes done');
  expect(service.output()).not.toContain('canary-pw-7731');
  expect(JSON.stringify(answer)).not.toContain('canary-pw-7731');
});

it('a catalog that is wrong stops start-up with exit 78, naming the file, the field and the reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-catalog-'));
  const catalogPath = join(dir, 'catalog.yaml');
  await writeFile(catalogPath, 'services:\n  payment-api:\n    postgres: ${UNSET_PROBE_URL}\n    helth: http://x\n');
  const run = spawnSync(
    process.execPath,
    ['--conditions=@vigil/source', '--import', 'tsx', join(repoRoot, 'apps/investigator/src/main.ts')],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        VIGIL_SERVICE_CATALOG: catalogPath,
        INVESTIGATOR_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect(run.status).toBe(78);
  expect(run.stderr).toContain(catalogPath);
  expect(run.stderr).toContain('services.payment-api.postgres: refers to ${UNSET_PROBE_URL}, which is not set');
});
