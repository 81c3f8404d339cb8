import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VigilError } from '@vigil/errors';
import { createEvent, exampleData, type EventType, type VigilEvent } from '@vigil/events';
import { collect, eventually, sleep } from '@vigil/testing';
import { createMemoryInbox } from './inbox.js';
import type { Bus, HandlerMap } from './port.js';

export interface BusHarness {
  bus: Bus;
  /** Another connection on the same streams, as a second process would have. */
  peer(): Promise<Bus>;
  /** Stores bytes on an event subject without validation, as a broken producer would. */
  injectRaw(subject: string, data: Uint8Array, id: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  duplicateWindowMs?: number;
}

function triggered(n: number, incidentId: string | null = null): VigilEvent<'incident.triggered'> {
  return createEvent(
    'incident.triggered',
    { ...exampleData['incident.triggered'], dedupKey: `key-${n}`, title: `alert ${n}` },
    { source: 'test', incidentId },
  );
}

function command<T extends EventType>(type: T, incidentId = 'inc-1'): VigilEvent<T> {
  return createEvent(type, exampleData[type] as never, { source: 'test', incidentId });
}

/** The bus contract: every adapter must pass all of it. */
export function busContract(name: string, makeHarness: (options?: HarnessOptions) => Promise<BusHarness>): void {
  describe(`bus contract: ${name}`, () => {
    let harness: BusHarness;
    let bus: Bus;

    beforeEach(async () => {
      harness = await makeHarness();
      bus = harness.bus;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('delivers a published event, validated and intact, to a consumer of its type', async () => {
      const got: VigilEvent[] = [];
      await bus.consume({ durable: 'svc', handlers: { 'incident.triggered': async (e) => void got.push(e) } });
      const event = triggered(1);
      const result = await bus.publish(event);
      expect(result.duplicate).toBe(false);
      expect(result.seq).toBeGreaterThan(0);
      await eventually(() => got.length === 1);
      expect(got[0]).toEqual(event);
    });

    it('refuses to publish an invalid event, naming the field', async () => {
      const bad = { ...triggered(1), data: { ...triggered(1).data, severity: 'apocalyptic' } } as unknown as VigilEvent;
      await expect(bus.publish(bad)).rejects.toThrow(/data\.severity/);
      expect(await collect(bus.read())).toHaveLength(0);
    });

    it('stores a duplicate publish (same id) once', async () => {
      const event = triggered(1);
      const first = await bus.publish(event);
      const second = await bus.publish(event);
      expect(second).toEqual({ seq: first.seq, duplicate: true });
      const history = await collect(bus.read());
      expect(history.map((h) => h.event.id)).toEqual([event.id]);
    });

    it('filters each consumer to its types and gives every durable its own copy', async () => {
      const seen: Record<string, string[]> = { a: [], b: [] };
      await bus.consume({ durable: 'a', handlers: { 'hypothesis.received': async (e) => void seen.a!.push(e.type) } });
      await bus.consume({
        durable: 'b',
        handlers: {
          'hypothesis.received': async (e) => void seen.b!.push(e.type),
          'context.requested': async (e) => void seen.b!.push(e.type),
        },
      });
      await bus.publish(command('hypothesis.received'));
      await bus.publish(command('context.requested'));
      await bus.publish(command('incident.escalated'));
      await eventually(() => seen.b!.length === 2 && seen.a!.length === 1);
      await sleep(200);
      expect(seen.a).toEqual(['hypothesis.received']);
      expect([...seen.b!].sort()).toEqual(['context.requested', 'hypothesis.received']);
    });

    it('splits the work of one durable between two copies without duplicates', async () => {
      const peer = await harness.peer();
      const byCopy: Record<string, string[]> = { one: [], two: [] };
      const handlers = (copy: 'one' | 'two'): HandlerMap => ({
        'incident.triggered': async (e) => {
          byCopy[copy]!.push(e.id);
          await sleep(2);
        },
      });
      await bus.consume({ durable: 'shared', handlers: handlers('one'), concurrency: 4 });
      await peer.consume({ durable: 'shared', handlers: handlers('two'), concurrency: 4 });
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const event = triggered(i);
        ids.push(event.id);
        await bus.publish(event);
      }
      await eventually(() => byCopy.one!.length + byCopy.two!.length >= 200, { timeoutMs: 20_000 });
      await sleep(200);
      const all = [...byCopy.one!, ...byCopy.two!];
      expect(all).toHaveLength(200);
      expect(new Set(all)).toEqual(new Set(ids));
      expect(byCopy.one!.length).toBeGreaterThan(0);
      expect(byCopy.two!.length).toBeGreaterThan(0);
    });

    it('redelivers after a retryable failure, with the delivery count', async () => {
      const counts: number[] = [];
      await bus.consume({
        durable: 'flaky',
        backoffMs: [50],
        handlers: {
          'incident.triggered': async (_e, ctx) => {
            counts.push(ctx.deliveryCount);
            if (ctx.deliveryCount < 3) throw new VigilError('UPSTREAM_DOWN', 'try later', { retryable: true });
          },
        },
      });
      await bus.publish(triggered(1));
      await eventually(() => counts.length === 3);
      await sleep(300);
      expect(counts).toEqual([1, 2, 3]);
      expect(await collect(bus.deadLetters())).toHaveLength(0);
    });

    it('parks a poison message on the dead-letter subject with its error after maxDeliver', async () => {
      let calls = 0;
      await bus.consume({
        durable: 'poisoned',
        maxDeliver: 3,
        backoffMs: [20],
        handlers: {
          'incident.triggered': async () => {
            calls += 1;
            throw new Error('handler exploded');
          },
        },
      });
      const event = triggered(7);
      await bus.publish(event);
      const letters = await eventually(async () => {
        const found = await collect(bus.deadLetters({ consumer: 'poisoned' }));
        return found.length > 0 ? found : undefined;
      });
      await sleep(300);
      expect(calls).toBe(3);
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        consumer: 'poisoned',
        deliveryCount: 3,
        error: { code: 'UNEXPECTED', message: 'handler exploded' },
        event: { id: event.id, type: 'incident.triggered' },
      });
      expect(await collect(bus.deadLetters({ consumer: 'someone-else' }))).toHaveLength(0);
    });

    it('parks a non-retryable failure at once', async () => {
      let calls = 0;
      await bus.consume({
        durable: 'strict',
        handlers: {
          'incident.triggered': async () => {
            calls += 1;
            throw new VigilError('PLAN_REJECTED', 'nothing to do', { retryable: false });
          },
        },
      });
      await bus.publish(triggered(1));
      const [letter] = await eventually(async () => {
        const found = await collect(bus.deadLetters());
        return found.length > 0 ? found : undefined;
      });
      expect(calls).toBe(1);
      expect(letter?.error).toEqual({ code: 'PLAN_REJECTED', message: 'nothing to do', retryable: false });
    });

    it('parks undecodable and invalid messages without calling the handler', async () => {
      let calls = 0;
      await bus.consume({ durable: 'careful', handlers: { 'incident.triggered': async () => void calls++ } });
      const subject = bus.prefix === '' ? 'incident.triggered' : `${bus.prefix}.incident.triggered`;
      await harness.injectRaw(subject, new TextEncoder().encode('{not json'), 'raw-1');
      const wrong = { ...triggered(2), data: { title: 'missing everything' } };
      await harness.injectRaw(subject, new TextEncoder().encode(JSON.stringify(wrong)), 'raw-2');
      const letters = await eventually(async () => {
        const found = await collect(bus.deadLetters());
        return found.length >= 2 ? found : undefined;
      });
      expect(calls).toBe(0);
      expect(letters.map((l) => l.error.code)).toEqual(['EVENT_INVALID', 'EVENT_INVALID']);
      expect(letters[0]?.raw).toBe('{not json');
      expect(letters[1]?.error.message).toMatch(/data\.dedupKey/);
    });

    it('stop() lets a running handler finish and be acknowledged; the rest go to another copy', async () => {
      const peer = await harness.peer();
      const done: string[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let started = 0;
      const slow = await bus.consume({
        durable: 'graceful',
        concurrency: 1,
        handlers: {
          'incident.triggered': async (e) => {
            started += 1;
            await gate;
            done.push(`slow:${e.id}`);
          },
        },
      });
      const first = triggered(1);
      await bus.publish(first);
      await eventually(() => started === 1);
      const stopping = slow.stop();
      expect(slow.stop()).toBe(stopping); // every call is the same stop
      const second = triggered(2);
      await bus.publish(second);
      await peer.consume({ durable: 'graceful', handlers: { 'incident.triggered': async (e) => void done.push(`peer:${e.id}`) } });
      release();
      await stopping;
      await eventually(() => done.length === 2, { timeoutMs: 20_000 });
      await sleep(300);
      expect(done.sort()).toEqual([`peer:${second.id}`, `slow:${first.id}`].sort());
      expect(await slow.pending()).toBe(0);
    });

    it('stop() at concurrency 8 hands back what it fetched at once, not after the ack wait', async () => {
      const peer = await harness.peer();
      const handled: string[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const busy = await bus.consume({
        durable: 'handback',
        concurrency: 8,
        ackWaitMs: 60_000,
        handlers: {
          'incident.triggered': async (e) => {
            await gate;
            handled.push(`busy:${e.id}`);
          },
        },
      });
      const events = Array.from({ length: 20 }, (_, i) => triggered(i));
      for (const event of events) await bus.publish(event);
      await eventually(async () => (await busy.pending()) === 20);
      const stopping = busy.stop();
      release();
      await stopping;
      await peer.consume({
        durable: 'handback',
        concurrency: 8,
        handlers: { 'incident.triggered': async (e) => void handled.push(`peer:${e.id}`) },
      });
      // Well under the 60 s ack wait: a message stranded in a closed buffer would take that long.
      await eventually(() => handled.length === 20, { timeoutMs: 15_000, message: 'every event handled after the hand-back' });
      expect(new Set(handled.map((h) => h.split(':')[1])).size).toBe(20);
    });

    it('copies with different handler sets never drop a type: each type goes only to copies that handle it', async () => {
      const peer = await harness.peer();
      const seen: string[] = [];
      await bus.consume({ durable: 'rolling', handlers: { 'incident.triggered': async () => void seen.push('old:triggered') } });
      await peer.consume({
        durable: 'rolling',
        handlers: {
          'incident.triggered': async () => void seen.push('new:triggered'),
          'incident.escalated': async () => void seen.push('new:escalated'),
        },
      });
      for (let i = 0; i < 5; i++) await bus.publish(command('incident.escalated', `inc-${i}`));
      await eventually(() => seen.filter((s) => s === 'new:escalated').length === 5);
      expect(seen.filter((s) => s.endsWith('escalated'))).toEqual(Array(5).fill('new:escalated'));
      expect(await collect(bus.deadLetters())).toHaveLength(0);
    });

    it('refuses an event whose subject is another type than its body claims', async () => {
      let approvals = 0;
      await bus.consume({
        durable: 'strict-subject',
        handlers: { 'approval.decided': async () => void approvals++, 'incident.triggered': async () => undefined },
      });
      const forged = command('approval.decided');
      const subject = bus.prefix === '' ? 'incident.triggered' : `${bus.prefix}.incident.triggered`;
      await harness.injectRaw(subject, new TextEncoder().encode(JSON.stringify(forged)), 'forged-1');
      const [letter] = await eventually(async () => {
        const found = await collect(bus.deadLetters());
        return found.length > 0 ? found : undefined;
      });
      expect(approvals).toBe(0);
      expect(letter?.error.message).toContain('carries an event of type approval.decided');
    });

    it('counts a message waiting out its retry delay as pending', async () => {
      let calls = 0;
      // The redelivery is held until the count is read: a machine stalled past the 1.5 s delay
      // finds it still unacknowledged (pending), instead of already settled.
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const sub = await bus.consume({
        durable: 'waiting',
        backoffMs: [1500],
        handlers: {
          'incident.triggered': async () => {
            calls++;
            if (calls === 1) throw new VigilError('LATER', 'later', { retryable: true });
            await held;
          },
        },
      });
      await bus.publish(triggered(1));
      await eventually(() => calls === 1);
      await sleep(200);
      expect(await sub.pending()).toBe(1);
      release();
      await eventually(() => calls === 2);
      await eventually(async () => (await sub.pending()) === 0);
    });

    it('ignores undefined options instead of letting them erase the defaults', async () => {
      const got: string[] = [];
      await bus.consume({
        durable: 'undefined-options',
        concurrency: undefined,
        maxDeliver: undefined,
        ackWaitMs: undefined,
        handlers: { 'incident.triggered': async (e) => void got.push(e.id) },
      });
      await bus.publish(triggered(1));
      await eventually(() => got.length === 1);
    });

    it('refuses nonsensical options with a message naming them', async () => {
      await expect(
        bus.consume({ durable: 'x', concurrency: 0, handlers: { 'incident.triggered': async () => undefined } }),
      ).rejects.toThrow(/concurrency/);
      await expect(bus.consume({ durable: 'bad name', handlers: { 'incident.triggered': async () => undefined } })).rejects.toThrow(
        /durable name/,
      );
    });

    it('with an inbox, a replayed event never repeats its effect', async () => {
      const replaying = await makeHarness({ duplicateWindowMs: 100 });
      try {
        const inbox = createMemoryInbox();
        let effects = 0;
        let deliveries = 0;
        const once = await replaying.bus.consume({
          durable: 'once',
          inbox,
          handlers: {
            'incident.triggered': async () => {
              effects += 1;
            },
          },
          // Count deliveries through a second type-agnostic consumer.
        });
        await replaying.bus.consume({ durable: 'counter', handlers: { 'incident.triggered': async () => void deliveries++ } });
        const event = triggered(1);
        await replaying.bus.publish(event);
        await sleep(250); // past the duplicate window: the same id is stored again, as a replay would
        expect((await replaying.bus.publish(event)).duplicate).toBe(false);
        await eventually(() => deliveries === 2);
        // The counter saw both copies; the inbox's consumer has settled the second one too.
        await eventually(async () => (await once.pending()) === 0, { message: 'the replayed copy settled by the inbox consumer' });
        expect(effects).toBe(1);
      } finally {
        await replaying.cleanup();
      }
    });

    it('reads history from the start, by type, by incident and by time', async () => {
      const t1 = triggered(1);
      await bus.publish(t1);
      await sleep(20);
      const since = new Date();
      await sleep(20);
      const h = command('hypothesis.received', 'inc-A');
      const c = command('context.requested', 'inc-B');
      await bus.publish(h);
      await bus.publish(c);
      const all = await collect(bus.read());
      expect(all.map((s) => s.event.id)).toEqual([t1.id, h.id, c.id]);
      expect(all.map((s) => s.seq)).toEqual([...all.map((s) => s.seq)].sort((a, b) => a - b));
      expect((await collect(bus.read({ types: ['hypothesis.received'] }))).map((s) => s.event.id)).toEqual([h.id]);
      expect((await collect(bus.read({ types: ['hypothesis.received', 'context.requested'] }))).length).toBe(2);
      expect((await collect(bus.read({ incidentId: 'inc-B' }))).map((s) => s.event.id)).toEqual([c.id]);
      expect((await collect(bus.read({ since }))).map((s) => s.event.id)).toEqual([h.id, c.id]);
      expect((await collect(bus.read({ fromSeq: all[1]!.seq }))).map((s) => s.event.id)).toEqual([h.id, c.id]);
    });

    it('reading history skips a message that is not a valid event, and says so', async () => {
      const good = triggered(1);
      await bus.publish(good);
      const subject = bus.prefix === '' ? 'incident.triggered' : `${bus.prefix}.incident.triggered`;
      await harness.injectRaw(subject, new TextEncoder().encode('not json'), 'garbage-1');
      const later = triggered(2);
      await bus.publish(later);
      const invalid: number[] = [];
      const read = await collect(bus.read({ onInvalid: ({ seq }) => void invalid.push(seq) }));
      expect(read.map((s) => s.event.id)).toEqual([good.id, later.id]);
      expect(invalid).toHaveLength(1);
    });

    it('follows new events until aborted', async () => {
      const controller = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        for await (const stored of bus.read({ follow: true, signal: controller.signal })) {
          seen.push(stored.event.id);
          if (seen.length === 2) controller.abort();
        }
      })();
      const a = triggered(1);
      const b = triggered(2);
      await sleep(100);
      await bus.publish(a);
      await bus.publish(b);
      await reading;
      expect(seen).toEqual([a.id, b.id]);
    });

    it('reports pending work per durable and its health', async () => {
      expect((await bus.health()).ok).toBe(true);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const sub = await bus.consume({ durable: 'lagging', concurrency: 1, handlers: { 'incident.triggered': () => gate } });
      for (let i = 0; i < 5; i++) await bus.publish(triggered(i));
      await eventually(async () => (await sub.pending()) === 5);
      release();
      await eventually(async () => (await sub.pending()) === 0);
    });
  });
}
