import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { databaseUrl, uniqueName } from '@vigil/testing';
import { createDemoDatabase, freePorts, freeServicePorts, type DemoDatabase } from '../src/demo-setup.js';

const made: DemoDatabase[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  // Databases first, then the roles that own them.
  for (const db of made) await db.drop();
  for (const cleanup of cleanups) await cleanup();
});

async function dropRoles(admin: string, roles: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    for (const role of roles) await client.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await client.end();
  }
}

it('demo databases made side by side (the demo, the e2e tests) all get their roles, also when the roles are new', async () => {
  const admin = await databaseUrl();
  // Roles of their own, new to the cluster, as on a fresh machine (the demo's own may exist already).
  const roles = { app: uniqueName('demo_app'), probe: uniqueName('demo_probe'), operator: uniqueName('demo_op') };
  cleanups.push(() => dropRoles(admin, Object.values(roles)));
  const names = Array.from({ length: 4 }, () => uniqueName('demo_side'));
  const results = await Promise.allSettled(names.map((name) => createDemoDatabase(admin, name, roles)));
  for (const r of results) if (r.status === 'fulfilled') made.push(r.value);
  expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  // Each database is usable by the roles it was made for.
  for (const db of made) {
    const client = new pg.Client({ connectionString: db.operatorUrl });
    await client.connect();
    const { rows } = await client.query('SELECT current_user AS who, pg_has_role(current_user, $1, $2) AS can_signal', [
      'pg_signal_backend',
      'MEMBER',
    ]);
    await client.end();
    expect(rows[0]).toEqual({ who: roles.operator, can_signal: true });
  }
});

it('gives every service its own port, even when asked for many at once', async () => {
  const ports = await freePorts(64);
  expect(new Set(ports).size).toBe(64);
  const named = await freeServicePorts(['orchestrator', 'ingest']);
  expect(Object.keys(named)).toEqual(['ORCHESTRATOR_PORT', 'INGEST_PORT']);
  expect(named['ORCHESTRATOR_PORT']).not.toBe(named['INGEST_PORT']);
});
