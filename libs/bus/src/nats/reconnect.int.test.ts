import { afterEach, expect, it } from 'vitest';
import { createEvent, exampleData } from '@vigil/events';
import { eventually, sleep, startOwnedNatsServer, type OwnedNatsServer } from '@vigil/testing';
import { createMemoryInbox } from '../inbox.js';
import type { Bus } from '../port.js';
import { createNatsBus } from './nats-bus.js';

let server: OwnedNatsServer | undefined;
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close().catch(() => undefined);
  await server?.dispose();
});

it('a server crash and restart loses neither the in-flight event nor later ones, and repeats no effect', async () => {
  server = await startOwnedNatsServer();
  const settlements: string[] = [];
  bus = await createNatsBus({
    url: server.url,
    name: 'reconnect-test',
    observer: { onSettled: (r) => void settlements.push(`${r.settlement}:${r.eventId}`) },
  });
  const effects: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const sub = await bus.consume({
    durable: 'survivor',
    ackWaitMs: 3000,
    inbox: createMemoryInbox(),
    handlers: {
      'incident.triggered': async (event) => {
        started++;
        if (event.data.dedupKey === 'in-flight') await gate;
        effects.push(event.data.dedupKey);
      },
    },
  });
  const inFlight = createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: 'in-flight' }, { source: 't' });
  await bus.publish(inFlight);
  await eventually(() => started === 1);

  await server.kill();
  await sleep(300);
  await server.restart();
  release(); // the handler finishes while the client is reconnecting

  const later = createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: 'after-restart' }, { source: 't' });
  await eventually(
    async () => {
      try {
        await bus!.publish(later);
        return true;
      } catch {
        return false; // BUS_UNAVAILABLE until the client has reconnected
      }
    },
    { timeoutMs: 20_000, message: 'publish after restart' },
  );
  await eventually(() => effects.includes('after-restart'), { timeoutMs: 20_000, message: 'event after restart handled' });
  await sleep(3500); // past the ack wait: an unacknowledged in-flight event would be redelivered now
  expect(effects.filter((e) => e === 'in-flight')).toHaveLength(1);
  expect(effects.filter((e) => e === 'after-restart')).toHaveLength(1);
  // An ack sent while the server was down can be lost; then JetStream redelivers (at least once)
  // and the inbox settles the redelivery as a duplicate: handled once, never lost, never repeated.
  const inFlightSettlements = settlements.filter((s) => s.endsWith(inFlight.id)).map((s) => s.split(':')[0]);
  expect(inFlightSettlements[0]).toBe('ack');
  expect(inFlightSettlements.slice(1).every((s) => s === 'duplicate')).toBe(true);
  expect((await bus.health()).ok).toBe(true);
  await eventually(async () => (await sub.pending()) === 0, { message: 'nothing left unacknowledged' });
});
