import { jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { afterEach, expect, it } from 'vitest';
import { isVigilError } from '@vigil/errors';
import { createEvent, exampleData, streamName, type VigilEvent } from '@vigil/events';
import { eventually, natsUrl, sleep, startOwnedNatsServer, uniqueName } from '@vigil/testing';
import type { Bus } from '../port.js';
import { createNatsBus } from './nats-bus.js';
import { deleteNatsStreams, durableName } from './streams.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openBus(prefix: string, extra: Partial<Parameters<typeof createNatsBus>[0]> = {}): Promise<Bus> {
  const url = await natsUrl();
  const bus = await createNatsBus({ url, name: 't', prefix, ...extra });
  cleanups.push(() => bus.close());
  return bus;
}

const triggered = (n: number): VigilEvent =>
  createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: `k${n}` }, { source: 't' });

it('a handler that outlives the ack wait is kept alive, and nothing waits unstarted for the ack wait to expire', async () => {
  const prefix = uniqueName('slowhandlers');
  cleanups.push(async () => deleteNatsStreams({ url: await natsUrl(), prefix }));
  const runs: string[] = [];
  const handler =
    (copy: string) =>
    async (event: VigilEvent): Promise<void> => {
      runs.push(`${copy}:${event.id}`);
      await sleep(7000); // well past the 3 s ack wait
    };
  const a = await openBus(prefix);
  const b = await openBus(prefix);
  await a.consume({ durable: 'slow', concurrency: 1, ackWaitMs: 3000, handlers: { 'incident.triggered': handler('a') } });
  await b.consume({ durable: 'slow', concurrency: 1, ackWaitMs: 3000, handlers: { 'incident.triggered': handler('b') } });
  const events = [1, 2, 3].map(triggered);
  for (const event of events) await a.publish(event);
  await eventually(() => runs.length === 3, { timeoutMs: 40_000 });
  // A redelivery, if any, would start within this. The heartbeat (every 1 s against a 3 s ack
  // wait) leaves 2 s for a stalled event loop on a loaded machine.
  await sleep(4000);
  expect(runs).toHaveLength(3);
  expect(new Set(runs.map((r) => r.split(':')[1]))).toEqual(new Set(events.map((e) => e.id)));
});

it('a consumer whose settings changed is recreated from its acknowledged position', async () => {
  const prefix = uniqueName('recreate');
  cleanups.push(async () => deleteNatsStreams({ url: await natsUrl(), prefix }));
  const bus = await openBus(prefix);
  const handled: string[] = [];
  const first = await bus.consume({
    durable: 'svc',
    ackWaitMs: 30_000,
    handlers: { 'incident.triggered': async (e) => void handled.push(e.id) },
  });
  const before = [1, 2, 3].map(triggered);
  for (const event of before) await bus.publish(event);
  await eventually(() => handled.length === 3);
  await eventually(async () => (await first.pending()) === 0);
  await first.stop();

  const again = await bus.consume({
    durable: 'svc',
    ackWaitMs: 45_000,
    handlers: { 'incident.triggered': async (e) => void handled.push(e.id) },
  });
  const after = triggered(4);
  await bus.publish(after);
  await eventually(() => handled.length === 4);
  await sleep(500);
  expect(handled).toEqual([...before.map((e) => e.id), after.id]);
  const nc = await connect({ servers: await natsUrl() });
  const info = await (await jetstreamManager(nc)).consumers.info(streamName('events', prefix), durableName('svc', 'incident.triggered'));
  await nc.close();
  expect(info.config.ack_wait).toBe(nanos(45_000));
  await again.stop();
});

it('never lowers a stream limit someone raised, and raises it when configured higher', async () => {
  const prefix = uniqueName('limits');
  cleanups.push(async () => deleteNatsStreams({ url: await natsUrl(), prefix }));
  await (await openBus(prefix, { maxAgeMs: 30 * 24 * 3600_000 })).close();
  await (await openBus(prefix, { maxAgeMs: 7 * 24 * 3600_000 })).close(); // a service with the default
  const nc = await connect({ servers: await natsUrl() });
  cleanups.push(() => nc.close());
  const jsm = await jetstreamManager(nc);
  expect((await jsm.streams.info(streamName('events', prefix))).config.max_age).toBe(nanos(30 * 24 * 3600_000));
  await (await openBus(prefix, { maxAgeMs: 60 * 24 * 3600_000 })).close();
  const info = await jsm.streams.info(streamName('events', prefix));
  expect(info.config.max_age).toBe(nanos(60 * 24 * 3600_000));
  expect(info.config.retention).toBe(RetentionPolicy.Limits);
  // Dead letters never expire.
  expect((await jsm.streams.info(streamName('deadletters', prefix))).config.max_age).toBe(0);
});

it('a reader creates and changes nothing, and says so when there is nothing to read', async () => {
  const prefix = uniqueName('reader');
  const error = await createNatsBus({ url: await natsUrl(), name: 'reader', prefix, streams: 'existing' }).catch((e: unknown) => e);
  expect(isVigilError(error, 'BUS_NOT_SET_UP')).toBe(true);
  expect((error as Error).message).toContain(streamName('events', prefix));
  const nc = await connect({ servers: await natsUrl() });
  cleanups.push(() => nc.close());
  await expect((await jetstreamManager(nc)).streams.info(streamName('events', prefix))).rejects.toThrow();
});

it('takes NATS credentials from the URL and never repeats them in an error', async () => {
  const server = await startOwnedNatsServer(['--user', 'vigil', '--pass', 's3cr3t-p@ss']);
  cleanups.push(() => server.dispose());
  const port = new URL(server.url).port;
  const bus = await createNatsBus({ url: `nats://vigil:${encodeURIComponent('s3cr3t-p@ss')}@127.0.0.1:${port}`, name: 'auth' });
  cleanups.push(() => bus.close());
  expect((await bus.publish(triggered(1))).duplicate).toBe(false);
  const refused = (await createNatsBus({ url: `nats://vigil:wrong-pass@127.0.0.1:${port}`, name: 'auth' }).catch(
    (e: unknown) => e,
  )) as Error;
  expect(isVigilError(refused, 'BUS_UNAVAILABLE')).toBe(true);
  expect(refused.message).toContain(`nats://127.0.0.1:${port}`);
  expect(refused.message).not.toContain('wrong-pass');
});
