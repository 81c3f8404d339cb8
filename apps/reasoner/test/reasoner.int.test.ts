import { afterEach, expect, it } from 'vitest';
import { MemoryBus } from '@vigil/bus';
import { parseCatalog } from '@vigil/catalog';
import type { z } from 'zod';
import { createEvent, exampleData, type RemedyCheck, type VigilEvent } from '@vigil/events';
import { createSafetyCheck, loadParsers } from '@vigil/policy';
import { collect, eventually } from '@vigil/testing';
import { buildReasoner } from '../src/service.js';

const buses: MemoryBus[] = [];

/** The lock runbook as memory retrieves it: its step binds the blocker's pid from the evidence. */
const lockRunbook = (checks: z.input<typeof RemedyCheck>[] = []) => ({
  citation: { documentId: 'pg-lock-contention', kind: 'runbook' as const, title: 'Lock' },
  score: 0.95,
  passage: 'p',
  remedy: {
    risk: 'LOW' as const,
    steps: [{ action: 'postgres.terminate_backend', params: { pid: '{{evidence.blocker_pid}}' } }],
    checks,
  },
});
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
});

it('answers a remediation request with one proposal, even when the request is delivered twice', async () => {
  await loadParsers();
  const settled: Array<string | null> = [];
  const bus = new MemoryBus({ duplicateWindowMs: 60_000, observer: { onSettled: (r) => void settled.push(r.eventId) } });
  buses.push(bus);
  await bus.consume({ durable: 'reasoner', ...buildReasoner({ bus, safety: createSafetyCheck() }, { concurrency: 2 }) });
  const request = createEvent(
    'remediation.requested',
    {
      ...exampleData['remediation.requested'],
      context: [lockRunbook()],
    },
    { source: 'orchestrator', incidentId: 'inc-7' },
  );
  await bus.publish(request);
  // The same request stored again, as a replay of the stream would bring it.
  bus.appendRaw('remediation.requested', new TextEncoder().encode(JSON.stringify(request)), 'replayed-copy');
  // Both deliveries settled: only then does "one proposal" say anything about the second one
  // (read afresh, not the list seen when the first proposal arrived).
  await eventually(() => settled.filter((id) => id === request.id).length === 2, { message: 'both deliveries settled' });
  const proposals = (await collect(bus.read({ types: ['remediation.proposed'] }))).map(
    (s) => s.event as VigilEvent<'remediation.proposed'>,
  );
  expect(proposals).toHaveLength(1);
  const [proposal] = proposals;
  expect(proposal).toMatchObject({ incidentId: 'inc-7', causationId: request.id, source: 'reasoner' });
  expect(proposal!.data).toMatchObject({
    outcome: 'plan',
    plan: { steps: [{ action: 'postgres.terminate_backend', params: { pid: 4242 } }] },
  });
});

it('every plan carries the checks that prove the service works: the catalog health URL joins the runbook’s own', async () => {
  await loadParsers();
  const bus = new MemoryBus();
  buses.push(bus);
  const catalog = parseCatalog('services:\n  payment-api:\n    health: http://127.0.0.1:7480/health\n', {});
  await bus.consume({ durable: 'reasoner', ...buildReasoner({ bus, safety: createSafetyCheck(), catalog }, { concurrency: 1 }) });
  const request = createEvent(
    'remediation.requested',
    {
      ...exampleData['remediation.requested'],
      context: [lockRunbook()],
    },
    { source: 'orchestrator', incidentId: 'inc-8' },
  );
  await bus.publish(request);
  const proposal = await eventually(async () => {
    const [found] = await collect(bus.read({ types: ['remediation.proposed'] }));
    return found?.event as VigilEvent<'remediation.proposed'> | undefined;
  });
  expect(proposal.data).toMatchObject({
    outcome: 'plan',
    plan: { checks: [{ kind: 'http', name: 'payment-api health', url: 'http://127.0.0.1:7480/health', expectStatus: 200 }] },
  });
});

it("a runbook's Postgres check is kept for a service whose catalog names its database, and dropped for one that names none", async () => {
  await loadParsers();
  const bus = new MemoryBus();
  buses.push(bus);
  const catalog = parseCatalog(
    [
      'services:',
      '  payment-api:',
      '    health: http://127.0.0.1:7480/health',
      '    postgres: postgres://probe@127.0.0.1:5432/payments',
      '  search-api:',
      '    health: http://127.0.0.1:7481/health',
      '',
    ].join('\n'),
    {},
  );
  await bus.consume({ durable: 'reasoner', ...buildReasoner({ bus, safety: createSafetyCheck(), catalog }, { concurrency: 1 }) });
  const request = (service: string, incidentId: string) =>
    createEvent(
      'remediation.requested',
      {
        ...exampleData['remediation.requested'],
        service,
        context: [lockRunbook([{ kind: 'postgres', name: 'accepts connections', expect: 'accepts_connections' }])],
      },
      { source: 'orchestrator', incidentId },
    );
  await bus.publish(request('payment-api', 'inc-9'));
  await bus.publish(request('search-api', 'inc-10'));
  const proposals = await eventually(async () => {
    const found = (await collect(bus.read({ types: ['remediation.proposed'] }))).map((s) => s.event as VigilEvent<'remediation.proposed'>);
    return found.length === 2 ? new Map(found.map((p) => [p.incidentId, p])) : undefined;
  });
  const checksOf = (id: string) => {
    const data = proposals.get(id)?.data;
    return data?.outcome === 'plan' ? data.plan.checks.map((c) => `${c.kind}:${c.name}`) : [];
  };
  expect(checksOf('inc-9')).toEqual(['postgres:accepts connections', 'http:payment-api health']);
  expect(checksOf('inc-10')).toEqual(['http:search-api health']);
});
