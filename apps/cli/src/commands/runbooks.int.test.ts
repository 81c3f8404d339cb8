import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startServiceProcess, type ServiceProcess } from '@vigil/testing';
import { vigil } from '../../test/run-vigil.js';

describe('vigil runbooks', () => {
  let memory: ServiceProcess;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-runbooks-'));
    const port = await freePort();
    // memory on its embedded defaults (PGlite, in-process bus), with an empty runbook directory.
    memory = await startServiceProcess({
      entry: 'apps/memory/src/main.ts',
      port,
      env: { MEMORY_HOST: '127.0.0.1', MEMORY_PORT: String(port), MEMORY_RUNBOOKS_DIR: dir },
    });
    env = { MEMORY_URL: memory.url };
  }, 60_000);
  afterAll(async () => {
    expect(await memory.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('ingests a directory idempotently and finds what it ingested, citing the section', async () => {
    const first = await vigil(['runbooks', 'ingest', join(repoRoot, 'apps/memory/runbooks')], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created\s+pg-lock-contention/);
    const again = await vigil(['runbooks', 'ingest', join(repoRoot, 'apps/memory/runbooks')], env);
    expect(again.stdout).toMatch(/unchanged\s+pg-lock-contention/);
    const found = await vigil(
      ['runbooks', 'search', 'row lock blocks checkout requests', '--alert', 'HighLatency', '--service', 'payment-api'],
      env,
    );
    expect(found.code).toBe(0);
    expect(found.stdout.split('\n')[0]).toMatch(/^\d\.\d{3}\s+pg-lock-contention\s+API latency from a Postgres row lock §/);
  });

  it('stops at an invalid runbook, naming the file, the field and the reason', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'vigil-bad-'));
    await writeFile(join(bad, 'broken.md'), '---\nid: Broken Id\ntitle: x\nrisk: LOW\n---\nbody');
    const result = await vigil(['runbooks', 'ingest', bad], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('broken.md: id:');
    await rm(bad, { recursive: true, force: true });
  });
});
