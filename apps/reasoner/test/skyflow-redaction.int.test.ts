import { afterAll, beforeAll, expect, it } from 'vitest';
import { exampleData, Hypothesis as HypothesisSchema, type Hypothesis } from '@vigil/events';
import { createSafetyCheck, loadParsers, type SafetyCheck } from '@vigil/policy';
import { createSkyflowRedactor } from '@vigil/redact';
import { startFakeSkyflow, type FakeSkyflow } from '@vigil/redact/testing';
import { createAnthropicProvider } from '../src/model/anthropic.js';
import { planWithModels } from '../src/model/model-planner.js';
import { startFakeAnthropic } from './fakes/anthropic.js';
import type { FakeModelServer } from './fakes/model-server.js';

/**
 * Skyflow on the reasoner's path: what the local detectors cannot see (a customer's name, a
 * street address) is found by Skyflow's Detect — a loopback fake of its REST protocol — and never
 * reaches the model; when Skyflow cannot answer, no model is asked at all.
 */
const apiKey = 'sky-reasoner-test-key';
const vaultId = 'v1a2b3c4';
let skyflow: FakeSkyflow;
let claude: FakeModelServer;
let safety: SafetyCheck;

beforeAll(async () => {
  await loadParsers();
  safety = createSafetyCheck();
  skyflow = await startFakeSkyflow({
    apiKey,
    vaultId,
    rules: [
      { type: 'name', pattern: /\bMarta Kowalska\b/ },
      { type: 'location_address', pattern: /\b\d{1,5} [A-Z][a-z]+ Street\b/ },
    ],
  });
  claude = await startFakeAnthropic('sk-ant-skyflow');
});
afterAll(async () => {
  await skyflow.close();
  await claude.close();
});

const base: Hypothesis = HypothesisSchema.parse(exampleData['hypothesis.received'].hypothesis);
const hypothesis: Hypothesis = {
  ...base,
  evidence: [
    ...base.evidence,
    { source: 'cleric', summary: 'Marta Kowalska of 12 Baker Street reported checkout hanging; pid 4242 holds the lock', facts: {} },
  ],
};
const input = { service: 'payment-api', hypothesis, context: [] };
const provider = () => createAnthropicProvider({ apiKey: 'sk-ant-skyflow', model: 'claude-test', baseURL: claude.url, timeoutMs: 5_000 });
const redactor = () => createSkyflowRedactor({ vaultId, vaultURL: skyflow.url, apiKey });

it('names and addresses found by Skyflow never reach the model; operational facts do', async () => {
  claude.reply({ kind: 'text', text: 'no tool' }, { kind: 'text', text: 'still no tool' });
  await planWithModels(input, [provider()], safety, { redactor: redactor() });
  expect(skyflow.requests.length).toBeGreaterThan(0);
  expect(claude.bodies.length).toBeGreaterThan(0);
  for (const body of claude.bodies) {
    expect(body).not.toContain('Marta Kowalska');
    expect(body).not.toContain('Baker Street');
    expect(body).toContain('pid 4242');
  }
  expect(claude.bodies[0]).toMatch(/\[NAME_1\]/);
});

it('Skyflow unavailable: no model is asked, and the runbook planner still answers', async () => {
  claude.bodies.length = 0;
  skyflow.failNext({ status: 503 }, { status: 503 }, { status: 503 });
  const outcome = await planWithModels(input, [provider()], safety, { redactor: redactor() });
  expect(claude.bodies).toHaveLength(0);
  expect(outcome.answeredBy).toBe('runbook-planner');
  expect(outcome.unavailable[0]).toMatch(/^every model \(local\+skyflow redaction failed: SKYFLOW_/);
});
