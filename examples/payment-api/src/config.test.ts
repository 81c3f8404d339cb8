import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to port 7480, embedded PGlite and a pool of 10', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PAYMENT_API_PORT: 7480, PAYMENT_DB_POOL: 10, PAYMENT_HEALTH_LOCK_TIMEOUT_MS: 1000 });
    expect(config.PAYMENT_DATABASE_URL).toBeUndefined();
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PAYMENT_DATABASE_URL: '', PAYMENT_API_PORT: '' }).PAYMENT_API_PORT).toBe(7480);
  });

  it('names every bad variable at once and hides the database URL', () => {
    let error: unknown;
    try {
      loadConfig({ PAYMENT_API_PORT: '99999', PAYMENT_DB_POOL: '0', PAYMENT_DATABASE_URL: 'mysql://u:secret@h/db' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual(['PAYMENT_API_PORT', 'PAYMENT_DATABASE_URL', 'PAYMENT_DB_POOL']);
    expect(problems.join('\n')).toContain('got "99999"');
    expect(problems.join('\n')).not.toContain('secret');
  });
});
