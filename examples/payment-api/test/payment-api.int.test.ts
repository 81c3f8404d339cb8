import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFaultDatabase, eventually, freePort, repoRoot, startServiceProcess, type FaultDatabase } from '@vigil/testing';
import { health, pay, roleUrl, startOnPglite, startOnPostgres, type RunningApp } from './helpers.js';

const run = promisify(execFile);

describe.each(['pglite', 'postgres'] as const)('payment-api on %s', (kind) => {
  let db: FaultDatabase | undefined;
  let running: RunningApp;

  beforeAll(async () => {
    if (kind === 'postgres') {
      db = await createFaultDatabase();
      running = await startOnPostgres(roleUrl(db));
    } else {
      running = await startOnPglite();
    }
    // PGlite compiles its WASM at start: slow on a loaded machine.
  }, 90_000);
  afterAll(async () => {
    await running?.close();
    await db?.drop();
  });

  it('/health exercises the database and answers ok', async () => {
    const { status, body } = await health(running.url);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, database: kind, db_ms: expect.any(Number) });
  });

  it('serves a checkout form a browser can fill in', async () => {
    const response = await fetch(`${running.url}/checkout`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toMatch(/<form id="checkout" method="post" action="\/checkout">/);
    expect(page).toMatch(/<select id="item" name="item">.*<option value="coffee">/s);
    expect(page).toMatch(/<input id="quantity" name="quantity" type="number"/);
    expect(page).toMatch(/<button id="pay" type="submit">Pay<\/button>/);
  });

  it('confirms a payment and records it on the hot order', async () => {
    const first = await pay(running.url, { item: 'cake', quantity: '2' });
    expect(first.status).toBe(200);
    const page = await first.text();
    expect(page).toContain('Payment confirmed');
    expect(page).toContain('2 × cake, $9.00');
    const payment = Number(/payment #(\d+)/.exec(page)?.[1]);
    const json = await fetch(`${running.url}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'coffee', quantity: 1 }),
    });
    expect(await json.text()).toContain(`payment #${payment + 1}`);
    const second = await (await pay(running.url, { item: 'tea', quantity: '1' })).text();
    expect(second).toContain(`payment #${payment + 2}`);
    if (db) {
      const admin = await db.connect('test');
      const { rows } = await admin.query('SELECT item, quantity, amount_cents, status FROM orders WHERE id = 1');
      expect(rows[0]).toEqual({ item: 'tea', quantity: 1, amount_cents: 300, status: 'paid' });
    }
  });

  it('refuses a bad form with a page that says what is wrong', async () => {
    const zero = await pay(running.url, { item: 'coffee', quantity: '0' });
    expect(zero.status).toBe(400);
    expect(await zero.text()).toMatch(/Payment failed[\s\S]*quantity must be at least 1/);
    const unknown = await pay(running.url, { item: 'caviar', quantity: '1' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('item must be one of coffee, tea, croissant, cake');
  });

  it('exposes request latency and checkouts to Prometheus', async () => {
    await health(running.url);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/health",status_code="200"\}/);
    expect(text).toMatch(/payment_checkouts_total\{outcome="confirmed"\} [1-9]/);
    expect(text).toMatch(/payment_checkouts_total\{outcome="rejected"\} [1-9]/);
    expect(text).toMatch(/payment_db_pool_connections\{state="max"\} \d+/);
  });
});

describe('payment-api under real database faults', () => {
  let db: FaultDatabase;
  let blocker: pg.Client;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    db = await createFaultDatabase();
    apps.push(await startOnPostgres(roleUrl(db)));
  });
  afterEach(async () => {
    await blocker?.query('ROLLBACK').catch(() => undefined);
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db.drop();
  });

  async function lockHotRow(): Promise<void> {
    blocker = await db.connect('blocker');
    await blocker.query('BEGIN');
    await blocker.query('UPDATE orders SET status = $1 WHERE id = 1', ['held']);
  }

  it('turns /health and checkout into 503s while the hot row is locked, and back once it is free', async () => {
    const base = apps[0]!.url;
    await lockHotRow();
    const locked = await health(base);
    expect(locked.status).toBe(503);
    expect(locked.body).toMatchObject({ ok: false, failure: 'lock-timeout' });
    expect(locked.body.error).toMatch(/order 1 stayed locked/);
    const failed = await pay(base, { item: 'coffee', quantity: '1' });
    expect(failed.status).toBe(503);
    expect(await failed.text()).toMatch(/Payment failed[\s\S]*lock timeout/);
    await blocker.query('ROLLBACK');
    expect((await health(base)).status).toBe(200);
    expect(await (await pay(base, { item: 'coffee', quantity: '1' })).text()).toContain('Payment confirmed');
  });

  it('reports "pool exhausted" when every pooled connection is stuck', async () => {
    const small = await startOnPostgres(roleUrl(db), { poolMax: 1, connectTimeoutMs: 300, checkoutLockTimeoutMs: 60_000 });
    apps.push(small);
    await lockHotRow();
    // The checkout takes the only connection and waits on the lock.
    const stuck = pay(small.url, { item: 'cake', quantity: '1' });
    const watcher = await db.connect('watcher');
    await eventually(async () => {
      const { rows } = await watcher.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'payment-api' AND wait_event_type = 'Lock' AND datname = current_database()",
      );
      return rows.length === 1;
    });
    const exhausted = await health(small.url);
    expect(exhausted.status).toBe(503);
    expect(exhausted.body).toMatchObject({ ok: false, failure: 'pool-exhausted' });
    expect(exhausted.body.error).toMatch(/^pool exhausted: all 1 connections busy/);
    await blocker.query('ROLLBACK');
    expect(await (await stuck).text()).toContain('Payment confirmed');
    expect((await health(small.url)).status).toBe(200);
  });

  it('creates its schema idempotently: a second copy keeps the orders', async () => {
    const before = await (await pay(apps[0]!.url, { item: 'tea', quantity: '3' })).text();
    const payment = Number(/payment #(\d+)/.exec(before)?.[1]);
    const copy = await startOnPostgres(roleUrl(db));
    apps.push(copy);
    expect(await (await pay(copy.url, { item: 'tea', quantity: '1' })).text()).toContain(`payment #${payment + 1}`);
  });
});

describe('payment-api as a process', () => {
  it("starts on embedded PGlite with `npm start`'s command and serves the checkout", async () => {
    const port = await freePort();
    const service = await startServiceProcess({
      entry: 'examples/payment-api/src/main.ts',
      env: { PAYMENT_API_PORT: String(port), PAYMENT_API_HOST: '127.0.0.1' },
      port,
      timeoutMs: 60_000,
    });
    try {
      expect((await health(service.url)).body).toMatchObject({ ok: true, database: 'pglite' });
      expect(await (await pay(service.url, { item: 'croissant', quantity: '4' })).text()).toContain('Payment confirmed');
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 90_000);

  it('exits 78 naming every bad variable, without echoing the database URL', async () => {
    const result = await run(
      process.execPath,
      ['--conditions=@vigil/source', '--import', 'tsx', join(repoRoot, 'examples/payment-api/src/main.ts')],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', PAYMENT_DB_POOL: 'lots', PAYMENT_DATABASE_URL: 'mysql://root:hunter2@db/shop' },
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('PAYMENT_DB_POOL');
    expect(result.stderr).toContain('PAYMENT_DATABASE_URL: a postgres:// or postgresql:// URL (value hidden)');
    expect(result.stderr).not.toContain('hunter2');
  });
});
