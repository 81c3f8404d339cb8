import { describe, expect, it } from 'vitest';
import { checksFor, describeTarget, maintenanceTarget, parseCatalog } from './catalog.js';

const text = `
services:
  payment-api:
    owners: [payments-oncall]
    health: http://127.0.0.1:7480/health
    postgres: postgres://probe:\${PAYMENT_DB_PASSWORD}@127.0.0.1:5432/payments
  cache-api:
    redis: redis://127.0.0.1:6379/0
    health: http://127.0.0.1:7481/health
    probes: [redis]
`;

describe('service catalog', () => {
  it('reads services, fills ${ENV} references and defaults the probes to every declared target', () => {
    const catalog = parseCatalog(text, { PAYMENT_DB_PASSWORD: 's3cret' });
    const payment = catalog.get('payment-api');
    expect(payment?.postgres).toBe('postgres://probe:s3cret@127.0.0.1:5432/payments');
    expect(payment?.probes).toEqual(['http', 'postgres']);
    expect(payment?.owners).toEqual(['payments-oncall']);
    expect(catalog.get('cache-api')?.probes).toEqual(['redis']);
    expect(catalog.get('unknown')).toBeUndefined();
    expect(catalog.services().map((s) => s.name)).toEqual(['payment-api', 'cache-api']);
  });

  it('names an unset variable and where it is used', () => {
    expect(() => parseCatalog(text, {}, 'catalog.yaml')).toThrow(
      /catalog\.yaml[\s\S]*services\.payment-api\.postgres: refers to \$\{PAYMENT_DB_PASSWORD\}/,
    );
  });

  it('names unknown fields, bad URLs, bad service names and probes without a target, all at once', () => {
    const bad = `
services:
  payment-api:
    helth: http://x/health
    postgres: mysql://db
  "bad name":
    health: ftp://x
`;
    const error = (() => {
      try {
        parseCatalog(bad, {});
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(error).toMatch(/services\.payment-api: Unrecognized key: "helth"/);
    expect(error).toMatch(/services\.payment-api\.postgres: a URL \(postgres, postgresql\)/);
    expect(error).toMatch(/bad name/);
    expect(() => parseCatalog('services:\n  api:\n    probes: [postgres]\n', {})).toThrow(
      /services\.api\.probes: postgres needs services\.api\.postgres/,
    );
  });

  it('reports YAML syntax errors and duplicate keys instead of guessing', () => {
    expect(() => parseCatalog('services:\n  api: [unclosed\n', {})).toThrow(/CATALOG_INVALID|invalid service catalog/);
    expect(() => parseCatalog('services:\n  api: {}\n  api: {}\n', {})).toThrow(/invalid service catalog/);
  });

  it('reads what the executor may act on, separately from the probes', () => {
    const catalog = parseCatalog(
      `services:
  payment-api:
    postgres: postgres://probe@db/payments
    executor:
      postgres: postgres://operator:\${OP_PW}@db/payments
      endpoints:
        flush-cache: { url: http://api/admin/flush }
      restart: [systemctl, restart, payment-api]
      kubernetes: { namespace: payments, deployment: payment-api }
`,
      { OP_PW: 'pw' },
    );
    expect(catalog.get('payment-api')?.executor).toEqual({
      postgres: 'postgres://operator:pw@db/payments',
      endpoints: { 'flush-cache': { url: 'http://api/admin/flush', method: 'POST' } },
      restart: ['systemctl', 'restart', 'payment-api'],
      kubernetes: { namespace: 'payments', deployment: 'payment-api' },
    });
    expect(() => parseCatalog('services:\n  api:\n    executor:\n      restart: []\n', {})).toThrow(/services\.api\.executor\.restart/);
  });

  it('the checks that prove a service works: declared ones, else its health URL', () => {
    const catalog = parseCatalog(
      `services:
  a:
    health: http://a/health
  b:
    health: http://b/health
    checks:
      - { kind: browser, name: checkout, steps: [{ do: goto, target: 'http://b/checkout' }, { do: expectText, value: Pay }] }
  c: {}
`,
      {},
    );
    expect(checksFor(catalog.get('a'))).toEqual([
      { kind: 'http', name: 'a health', method: 'GET', url: 'http://a/health', expectStatus: 200, maxLatencyMs: 2000 },
    ]);
    expect(checksFor(catalog.get('b'))).toMatchObject([{ kind: 'browser', name: 'checkout' }]);
    expect(checksFor(catalog.get('c'))).toEqual([]);
    expect(checksFor(undefined)).toEqual([]);
  });

  it('an empty file is an empty catalog', () => {
    expect(parseCatalog('', {}).services()).toEqual([]);
  });

  it('describes a target without its secrets', () => {
    expect(describeTarget('postgres://probe:s3cret@db:5432/payments?sslpassword=x&sslmode=require')).toBe(
      'postgres://probe:***@db:5432/payments?sslpassword=***&sslmode=require',
    );
    expect(describeTarget('not a url')).toBe('(unparseable target)');
  });

  it('names the maintenance database of the same server, role and settings, for when the target database is full', () => {
    expect(maintenanceTarget('postgres://op:pw@db:5432/pay%20ments?sslmode=require')).toEqual({
      database: 'pay ments',
      url: 'postgres://op:pw@db:5432/postgres?sslmode=require',
    });
    expect(maintenanceTarget('postgres://op@db/payments', 'template1')?.url).toBe('postgres://op@db/template1');
    // Nothing to fall back to: no database named, the maintenance database itself, or a URL that is not one.
    expect(maintenanceTarget('postgres://op@db:5432')).toBeUndefined();
    expect(maintenanceTarget('postgres://op@db:5432/postgres')).toBeUndefined();
    expect(maintenanceTarget('postgres://op@db:5432/x?dbname=y')).toBeUndefined();
    expect(maintenanceTarget('not a url')).toBeUndefined();
  });
});
