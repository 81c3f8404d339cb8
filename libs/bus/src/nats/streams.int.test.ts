import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { afterEach, expect, it } from 'vitest';
import { createEvent, exampleData, streamName, streamSubjects } from '@vigil/events';
import { natsUrl, uniqueName } from '@vigil/testing';
import { createNatsBus, VIGIL_HEADERS } from './nats-bus.js';
import { deleteNatsStreams } from './streams.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

it('creates the streams as DESIGN.md fixes them, and updates them idempotently at the next start', async () => {
  const url = await natsUrl();
  const prefix = uniqueName('streams');
  cleanups.push(() => deleteNatsStreams({ url, prefix }));
  const first = await createNatsBus({ url, name: 't', prefix, maxAgeMs: 3_600_000, duplicateWindowMs: 60_000 });
  await first.close();
  const second = await createNatsBus({ url, name: 't', prefix, maxAgeMs: 7_200_000, duplicateWindowMs: 60_000 });
  cleanups.push(() => second.close());

  const nc = await connect({ servers: url });
  cleanups.push(async () => void (await nc.close()));
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streamName('events', prefix));
  expect(info.config.storage).toBe(StorageType.File);
  expect(info.config.retention).toBe(RetentionPolicy.Limits);
  expect(info.config.max_age).toBe(nanos(7_200_000)); // updated in place
  expect(info.config.duplicate_window).toBe(nanos(60_000));
  expect([...info.config.subjects].sort()).toEqual(streamSubjects('events', prefix).sort());
  const dead = await jsm.streams.info(streamName('deadletters', prefix));
  expect(dead.config.subjects).toEqual([`${prefix}.deadletter.*`]);
});

it('stores each event with Nats-Msg-Id and the Vigil headers, so `nats stream view` shows what it is', async () => {
  const url = await natsUrl();
  const prefix = uniqueName('headers');
  cleanups.push(() => deleteNatsStreams({ url, prefix }));
  const bus = await createNatsBus({ url, name: 't', prefix });
  cleanups.push(() => bus.close());
  const event = createEvent('hypothesis.received', exampleData['hypothesis.received'], { source: 'investigator', incidentId: 'inc-42' });
  const { seq } = await bus.publish(event);

  const nc = await connect({ servers: url });
  cleanups.push(async () => void (await nc.close()));
  const stored = await (await jetstreamManager(nc)).streams.getMessage(streamName('events', prefix), { seq });
  expect(stored?.subject).toBe(`${prefix}.hypothesis.received`);
  expect(stored?.header.get('Nats-Msg-Id')).toBe(event.id);
  expect(stored?.header.get(VIGIL_HEADERS.type)).toBe('hypothesis.received');
  expect(stored?.header.get(VIGIL_HEADERS.incident)).toBe('inc-42');
  expect(stored?.header.get(VIGIL_HEADERS.source)).toBe('investigator');
  expect(stored?.json()).toEqual(event);
});
