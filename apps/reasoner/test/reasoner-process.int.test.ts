import { afterAll, expect, it } from 'vitest';
import { createNatsBus, deleteNatsStreams, type Bus } from '@vigil/bus';
import { createEvent, exampleData, type VigilEvent } from '@vigil/events';
import { collect, eventually, freePort, natsUrl, startServiceProcess, uniqueName, type ServiceProcess } from '@vigil/testing';
import { startFakeAnthropic } from './fakes/anthropic.js';
import { startFakeGemini } from './fakes/gemini.js';
import type { FakeModelServer } from './fakes/model-server.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('the reasoner process plans with the first configured model that answers, over real JetStream, and never logs a key', async () => {
  const prefix = uniqueName('reasoner');
  const url = await natsUrl();
  cleanups.push(() => deleteNatsStreams({ url, prefix }));
  // Claude is preferred but overloaded; Gemini answers.
  const claude: FakeModelServer = await startFakeAnthropic('sk-ant-process-key');
  cleanups.push(() => claude.close());
  claude.reply({ kind: 'error', status: 529 });
  const fake: FakeModelServer = await startFakeGemini('gemini-process-key');
  cleanups.push(() => fake.close());
  fake.reply({
    kind: 'tool',
    input: {
      steps: [{ kind: 'action', id: 'step-1', action: 'postgres.terminate_backend', params: { pid: 4242 } }],
      confidence: 0.8,
      risk: 'LOW',
      runbooks: [],
    },
  });
  const bus: Bus = await createNatsBus({ url, name: 'reasoner-process-test', prefix });
  cleanups.push(() => bus.close());
  const port = await freePort();
  const service: ServiceProcess = await startServiceProcess({
    entry: 'apps/reasoner/src/main.ts',
    port,
    env: {
      NATS_URL: url,
      VIGIL_SUBJECT_PREFIX: prefix,
      REASONER_PORT: String(port),
      ANTHROPIC_API_KEY: 'sk-ant-process-key',
      ANTHROPIC_BASE_URL: claude.url,
      REASONER_ANTHROPIC_MODEL: 'claude-process',
      GEMINI_API_KEY: 'gemini-process-key',
      GOOGLE_GEMINI_BASE_URL: fake.url,
      REASONER_GEMINI_MODEL: 'gemini-process',
      LOG_LEVEL: 'debug',
    },
  });
  cleanups.push(() => service.stop());
  const request = createEvent('remediation.requested', exampleData['remediation.requested'], {
    source: 'orchestrator',
    incidentId: 'inc-p1',
  });
  await bus.publish(request);
  const proposal = await eventually(async () => {
    const found = await collect(bus.read({ types: ['remediation.proposed'] }));
    return found[0]?.event as VigilEvent<'remediation.proposed'> | undefined;
  });
  expect(proposal.causationId).toBe(request.id);
  expect(proposal.data).toMatchObject({ outcome: 'plan', plan: { producedBy: 'gemini:gemini-process' } });
  expect(claude.bodies).toHaveLength(1);
  expect(fake.bodies).toHaveLength(1);
  expect(service.output()).toContain('planners in order');
  expect(service.output()).not.toContain('sk-ant-process-key');
  expect(service.output()).not.toContain('gemini-process-key');
});
