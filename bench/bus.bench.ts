import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createNatsBus, deleteNatsStreams } from '@vigil/bus';
import { createEvent, exampleData, type VigilEvent } from '@vigil/events';
import { lanes, round, type Benchmark } from './harness.js';

const COUNT = Number(process.env.BENCH_BUS_EVENTS ?? 20_000);
const WINDOW = 256; // publishes in flight, and messages per pull, on both sides
const ROUNDS = 3;

function events(): VigilEvent[] {
  return Array.from({ length: COUNT }, (_, i) =>
    createEvent('incident.triggered', { ...exampleData['incident.triggered'], dedupKey: `bench-${i}` }, { source: 'bench' }),
  );
}

/** The baseline: the same events through @nats-io/jetstream directly (JSON, headers, msg ids, acks). */
async function rawRound(nc: NatsConnection, batch: VigilEvent[], tag: string): Promise<{ publishMs: number; consumeMs: number }> {
  const jsm = await jetstreamManager(nc);
  const js: JetStreamClient = jetstream(nc);
  const name = `BENCH_RAW_${tag}`;
  await jsm.streams.add({ name, subjects: [`benchraw.${tag}.>`] });
  try {
    const subject = `benchraw.${tag}.incident.triggered`;
    const t0 = performance.now();
    await lanes(batch.length, WINDOW, (i) => {
      const event = batch[i] as VigilEvent;
      const h = headers();
      h.set('Vigil-Event-Type', event.type);
      return js.publish(subject, JSON.stringify(event), { msgID: event.id, headers: h });
    });
    const publishMs = performance.now() - t0;
    await jsm.consumers.add(name, { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(name, 'raw');
    const t1 = performance.now();
    const messages = await consumer.consume({ max_messages: WINDOW });
    let seen = 0;
    for await (const msg of messages) {
      JSON.parse(msg.string());
      msg.ack();
      if (++seen === batch.length) break;
    }
    const consumeMs = performance.now() - t1;
    await messages.close();
    return { publishMs, consumeMs };
  } finally {
    await jsm.streams.delete(name);
  }
}

/** The same events through libs/bus: validation, catalog subjects, settlement, observer. */
async function vigilRound(url: string, batch: VigilEvent[], tag: string): Promise<{ publishMs: number; consumeMs: number }> {
  const prefix = `benchvigil_${tag}`;
  const bus = await createNatsBus({ url, name: 'bench', prefix });
  try {
    const t0 = performance.now();
    await lanes(batch.length, WINDOW, (i) => bus.publish(batch[i] as VigilEvent));
    const publishMs = performance.now() - t0;
    let seen = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const t1 = performance.now();
    await bus.consume({
      durable: 'bench',
      concurrency: WINDOW,
      handlers: {
        'incident.triggered': async () => {
          if (++seen === batch.length) done();
        },
      },
    });
    await finished;
    const consumeMs = performance.now() - t1;
    return { publishMs, consumeMs };
  } finally {
    await bus.close();
    await deleteNatsStreams({ url, prefix });
  }
}

export const busBenchmark: Benchmark = {
  name: 'bus: publish + consume over JetStream',
  async run() {
    const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    // The baseline gets the client's fastest settings too, so the ratio shows only Vigil's own cost.
    const nc = await connect({ servers: url, noAsyncTraces: true });
    const server = nc.info?.version ?? 'unknown';
    const batch = events();
    const raw = { publishMs: Infinity, consumeMs: Infinity };
    const vigil = { publishMs: Infinity, consumeMs: Infinity };
    try {
      // Interleave the two so drift on a noisy machine hits both; keep each side's fastest.
      for (let i = 0; i < ROUNDS; i++) {
        const r = await rawRound(nc, batch, `${Date.now()}_${i}`);
        raw.publishMs = Math.min(raw.publishMs, r.publishMs);
        raw.consumeMs = Math.min(raw.consumeMs, r.consumeMs);
        const v = await vigilRound(url, batch, `${Date.now()}_${i}`);
        vigil.publishMs = Math.min(vigil.publishMs, v.publishMs);
        vigil.consumeMs = Math.min(vigil.consumeMs, v.consumeMs);
      }
    } finally {
      await nc.close();
    }
    const perSecond = (ms: number): number => Math.round((COUNT / ms) * 1000);
    const rawTotal = raw.publishMs + raw.consumeMs;
    const vigilTotal = vigil.publishMs + vigil.consumeMs;
    return {
      name: this.name,
      figures: {
        events: COUNT,
        raw_publish_per_s: perSecond(raw.publishMs),
        raw_consume_per_s: perSecond(raw.consumeMs),
        vigil_publish_per_s: perSecond(vigil.publishMs),
        vigil_consume_per_s: perSecond(vigil.consumeMs),
        raw_end_to_end_per_s: perSecond(rawTotal),
        vigil_end_to_end_per_s: perSecond(vigilTotal),
      },
      ratios: {
        publish: round(raw.publishMs / vigil.publishMs),
        consume: round(raw.consumeMs / vigil.consumeMs),
        end_to_end: round(rawTotal / vigilTotal),
      },
      goals: { end_to_end: 0.8 },
      notes: [`nats-server ${server}`, `${WINDOW} publishes in flight and ${WINDOW} messages per pull on both sides`],
    };
  },
};
