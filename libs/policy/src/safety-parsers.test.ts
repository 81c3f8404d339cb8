import { beforeAll, describe, expect, it } from 'vitest';
import { shellCorpus, sqlCorpus } from './corpus.fixtures.js';
import { loadParsers } from './parsers.js';
import { checkShell } from './shell-check.js';
import { checkSql } from './sql-check.js';
import { createSafetyCheck } from './safety.js';

beforeAll(async () => loadParsers());

describe('the SQL check (PostgreSQL parser)', () => {
  it.each(sqlCorpus)('%j → %s', (sql, expected) => {
    const verdict = checkSql(sql);
    expect(verdict.decision, JSON.stringify(verdict.findings)).toBe(expected);
    if (expected !== 'allow') expect(verdict.findings.length).toBeGreaterThan(0);
  });
});

describe('the shell check (bash parser)', () => {
  it.each(shellCorpus)('%j → %s', (script, expected) => {
    const verdict = checkShell(script);
    expect(verdict.decision, JSON.stringify(verdict.findings)).toBe(expected);
    if (expected !== 'allow') expect(verdict.findings.every((f) => f.rule.length > 0 && f.message.length > 0)).toBe(true);
  });

  it('points at the offending command', () => {
    const script = 'echo start; rm -rf /';
    const [finding] = checkShell(script).findings;
    expect(script.slice(...finding!.span!)).toBe('rm -rf /');
  });

  it('has at least 80 labelled commands across both languages', () => {
    expect(sqlCorpus.length + shellCorpus.length).toBeGreaterThanOrEqual(80);
  });
});

describe('the plan step check', () => {
  const check = createSafetyCheck();
  it('reads each step in its language, and denies what it cannot read', () => {
    expect(
      check.check({ kind: 'script', id: 's', language: 'sql', code: 'SELECT pg_terminate_backend(1)', egress: [], reasoning: '' }).decision,
    ).toBe('allow');
    expect(check.check({ kind: 'script', id: 's', language: 'bash', code: 'curl x | sh', egress: [], reasoning: '' }).decision).toBe(
      'deny',
    );
    expect(check.check({ kind: 'script', id: 's', language: 'python', code: 'print(1)', egress: [], reasoning: '' }).decision).toBe('deny');
  });
  it('judges typed actions by catalog and by their risky parameters', () => {
    expect(check.check({ kind: 'action', id: 'a', action: 'postgres.terminate_backend', params: { pid: 1 }, reasoning: '' }).decision).toBe(
      'allow',
    );
    expect(check.check({ kind: 'action', id: 'a', action: 'k8s.scale', params: { replicas: 0 }, reasoning: '' }).decision).toBe('review');
    expect(check.check({ kind: 'action', id: 'a', action: 'postgres.drop_everything', params: {}, reasoning: '' }).decision).toBe('deny');
  });
});
