import { describe, expect, it } from 'vitest';
import { createCatalogSafetyCheck } from './safety.js';

describe('the catalog safety check', () => {
  const check = createCatalogSafetyCheck();
  it('allows a typed action from the catalog', () => {
    expect(check.check({ kind: 'action', id: 's', action: 'postgres.terminate_backend', params: { pid: 1 }, reasoning: '' }).decision).toBe(
      'allow',
    );
  });
  it('denies an action it does not know', () => {
    const verdict = check.check({ kind: 'action', id: 's', action: 'postgres.drop_database', params: {}, reasoning: '' });
    expect(verdict).toEqual({
      decision: 'deny',
      findings: [{ rule: 'unknown-action', message: 'postgres.drop_database is not in the action catalog' }],
    });
  });
  it('denies any script it cannot read, however harmless it looks', () => {
    expect(check.check({ kind: 'script', id: 's', language: 'bash', code: 'echo hello', egress: [], reasoning: '' }).decision).toBe('deny');
  });
});
