import { beforeAll, describe, expect, it } from 'vitest';
import { composeProblems, envExampleProblems, parseCompose } from '../src/compose.js';
import { loadFacts, type Facts } from '../src/facts.js';
import { readText } from '../src/repo.js';

const text = readText('docker-compose.yml');
let facts: Facts;
beforeAll(async () => {
  facts = await loadFacts();
}, 120_000);

describe('docker-compose.yml', () => {
  it('parses and runs exactly the services, each from the one image, healthy on /readyz, after what it needs', () => {
    expect(composeProblems(parseCompose(text), facts)).toEqual([]);
  });

  it('lists every service as its own container', () => {
    const services = Object.keys(parseCompose(text).services as object);
    for (const app of facts.services) expect(services).toContain(app);
  });

  it('documents every variable it uses in .env.example, and no other', () => {
    expect(envExampleProblems(text, readText('.env.example'))).toEqual([]);
  });

  it('names a missing app, a variable no configuration reads, and a missing health check', () => {
    const compose = parseCompose(text) as { services: Record<string, Record<string, unknown>> };
    delete compose.services.reasoner;
    (compose.services.memory!.environment as Record<string, string>).MEMORY_TYPO = 'x';
    delete compose.services.approver!.healthcheck;
    expect(composeProblems(compose, facts)).toEqual([
      'docker-compose.yml: app reasoner has no service',
      'docker-compose.yml: approver: no healthcheck on /readyz at port 7408',
      'docker-compose.yml: memory: sets MEMORY_TYPO, which its configuration does not read',
    ]);
  });

  it('names an app that opens Postgres without waiting for it', () => {
    const compose = parseCompose(text) as { services: Record<string, Record<string, unknown>> };
    delete (compose.services.executor!.depends_on as Record<string, unknown>).postgres;
    expect(composeProblems(compose, facts)).toEqual([
      'docker-compose.yml: executor: does not wait for postgres to be healthy (depends_on postgres: service_healthy)',
    ]);
  });

  it('names an undocumented variable', () => {
    expect(envExampleProblems(`${text}\nx-extra: \${NEW_SETTING:-x}\n`, readText('.env.example'))).toEqual([
      '.env.example: NEW_SETTING (used in docker-compose.yml) is not documented',
    ]);
  });
});
