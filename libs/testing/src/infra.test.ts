import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { collect, eventually } from './wait.js';
import { locateService, uniqueName } from './infra.js';

describe('locating real infrastructure', () => {
  it('prefers the URL from the environment', async () => {
    expect(await locateService('nats', { env: { NATS_URL: 'nats://elsewhere:4222' }, tryContainers: false })).toBe('nats://elsewhere:4222');
  });

  it('then the service on its local port', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await locateService('redis', { env: {}, port, tryContainers: false })).toBe(`redis://127.0.0.1:${port}`);
      expect(await locateService('postgres', { env: {}, port, tryContainers: false })).toBe(`postgres://postgres@127.0.0.1:${port}/test`);
    } finally {
      server.close();
    }
  });

  it('otherwise fails with the command that starts the service, never a silent skip', async () => {
    const error = await locateService('postgres', { env: {}, port: 1, tryContainers: false }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('DATABASE_URL is unset');
    expect((error as Error).message).toContain('pg_ctlcluster --skip-systemctl-redirect');
  });
});

describe('helpers', () => {
  it('uniqueName gives distinct, identifier-safe names', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('My-Test')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^my_test_[0-9a-f]{10}$/);
  });

  it('eventually returns the first truthy value, and fails with its message when time runs out', async () => {
    let n = 0;
    expect(await eventually(() => (++n >= 3 ? n : undefined), { intervalMs: 1 })).toBe(3);
    await expect(eventually(() => false, { timeoutMs: 30, intervalMs: 5, message: 'never true' })).rejects.toThrow(
      /never true within 30 ms/,
    );
  });

  it('collect drains an async iterable', async () => {
    async function* three() {
      yield 1;
      yield 2;
      yield 3;
    }
    expect(await collect(three())).toEqual([1, 2, 3]);
  });
});
