import { afterAll, beforeAll } from 'vitest';
import { createLocalRedactor, createSkyflowRedactor } from '../src/index.js';
import { startFakeSkyflow, type FakeSkyflow } from './fakes/skyflow.fake.js';
import { redactorContract } from './redactor.contract.js';

let fake: FakeSkyflow;
beforeAll(async () => {
  // A Skyflow that also reports the local kinds, and facts nobody asked for: the union must still hold.
  fake = await startFakeSkyflow({
    apiKey: 'sky-contract-key',
    vaultId: 'contractvault',
    rules: [
      { type: 'email_address', pattern: /[\w.+-]+@[\w-]+\.[a-z]{2,}/ },
      { type: 'duration', pattern: /\d+ms/, always: true },
      { type: 'numerical_pii', pattern: /\b\d{4}\b/, always: true },
      { type: 'name', pattern: /\b[A-Z][a-z]+ [A-Z][a-z]+\b/ },
    ],
  });
});
afterAll(() => fake.close());

redactorContract('local', () => createLocalRedactor());
redactorContract('local+skyflow', () =>
  createSkyflowRedactor({ vaultId: 'contractvault', vaultURL: fake.url, apiKey: 'sky-contract-key' }),
);
