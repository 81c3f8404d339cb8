import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { VigilError } from '@vigil/errors';
import {
  deadLetterSubject,
  decodeEvent,
  encodeEvent,
  isEventType,
  normalisePrefix,
  parseEvent,
  streamName,
  subjectFor,
  type EventType,
  type VigilEvent,
} from '@vigil/events';
import { heartbeatFor, resolveConsumeOptions, settleDelivery, Slots, type Delivery, type SettleContext } from '../delivery.js';
import {
  silentLogger,
  type Bus,
  type BusHealth,
  type BusLogger,
  type BusObserver,
  type ConsumeOptions,
  type DeadLetter,
  type PublishResult,
  type ReadOptions,
  type StoredEvent,
  type Subscription,
} from '../port.js';
import { connectionOptions, withoutCredentials } from './connection.js';
import { durableName, ensureConsumer, ensureStreams, requireStreams, supportsMultiFilter, type StreamSettings } from './streams.js';

export interface NatsBusOptions {
  /** e.g. `nats://127.0.0.1:4222`; several comma-separated servers; `user:pass@` or `token@` allowed. */
  url: string;
  /** Connection name shown by `nats server report connections`. */
  name: string;
  prefix?: string;
  /** 'ensure' (services): create missing streams, raise limits. 'existing' (readers): change nothing. */
  streams?: 'ensure' | 'existing';
  maxAgeMs?: number;
  duplicateWindowMs?: number;
  replicas?: number;
  /** How long a publish waits for the JetStream ack. */
  publishTimeoutMs?: number;
  logger?: BusLogger;
  observer?: BusObserver;
}

/** Header names Vigil sets besides `Nats-Msg-Id`, so `nats stream view` shows what a message is. */
export const VIGIL_HEADERS = { type: 'Vigil-Event-Type', incident: 'Vigil-Incident-Id', source: 'Vigil-Source' } as const;

/** How long one pull waits for messages; also the longest a stop() waits for it. */
const FETCH_EXPIRES_MS = 1000;

function unavailable(error: unknown, what: string): VigilError {
  return new VigilError('BUS_UNAVAILABLE', `${what}: ${(error as Error)?.message ?? String(error)}`, {
    retryable: true,
    retryAfterMs: 1000,
    cause: error,
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects to NATS, makes sure the streams exist (or checks they do), and returns the bus. */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const logger = options.logger ?? silentLogger;
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...connectionOptions(options.url),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
      // Otherwise every request (each publish) builds two Errors with stack traces up front, only
      // to decorate a rare timeout: a third of a publish's CPU. Our errors say what timed out.
      noAsyncTraces: true,
    });
  } catch (error) {
    throw unavailable(error, `cannot connect to NATS at ${withoutCredentials(options.url)}`);
  }
  const settings: StreamSettings = {
    prefix: normalisePrefix(options.prefix),
    ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
    ...(options.duplicateWindowMs === undefined ? {} : { duplicateWindowMs: options.duplicateWindowMs }),
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
  };
  try {
    const jsm = await jetstreamManager(nc);
    if (options.streams === 'existing') await requireStreams(jsm, settings.prefix);
    else await ensureStreams(jsm, settings, logger);
    return new NatsBus(nc, jsm, jetstream(nc), settings.prefix, options, logger);
  } catch (error) {
    await nc.close().catch(() => undefined);
    if (error instanceof VigilError) throw error;
    throw new VigilError(
      'BUS_SETUP_FAILED',
      `cannot set up the JetStream streams: ${(error as Error).message} (is nats-server started with -js?)`,
      {
        cause: error,
      },
    );
  }
}

class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  private readonly subscriptions = new Set<Subscription>();
  private readonly eventsStream: string;
  private readonly deadLetterStream: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    readonly prefix: string,
    private readonly options: NatsBusOptions,
    private readonly log: BusLogger,
  ) {
    this.eventsStream = streamName('events', prefix);
    this.deadLetterStream = streamName('deadletters', prefix);
  }

  async publish(event: VigilEvent): Promise<PublishResult> {
    const valid = parseEvent(event);
    const h = headers();
    h.set(VIGIL_HEADERS.type, valid.type);
    if (valid.incidentId !== null) h.set(VIGIL_HEADERS.incident, valid.incidentId);
    h.set(VIGIL_HEADERS.source, valid.source);
    try {
      const ack = await this.js.publish(subjectFor(valid.type, this.prefix), encodeEvent(valid), {
        msgID: valid.id,
        headers: h,
        timeout: this.options.publishTimeoutMs ?? 5000,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (error) {
      if (/max_payload|payload.*(too large|exceeded)/i.test((error as Error)?.message ?? '')) {
        throw new VigilError('BUS_MESSAGE_TOO_LARGE', `${valid.type} ${valid.id} is larger than the server accepts`, { cause: error });
      }
      throw unavailable(error, `publish of ${valid.type} ${valid.id} not acknowledged by JetStream`);
    }
  }

  async consume(consumeOptions: ConsumeOptions): Promise<Subscription> {
    const options = resolveConsumeOptions(consumeOptions);
    const types = Object.keys(options.handlers).filter(isEventType);
    const names = types.map((type) => ({ type, name: durableName(options.durable, type) }));
    for (const { type, name } of names) await ensureConsumer(this.jsm, this.eventsStream, name, type, this.prefix, options.ackWaitMs);
    const acks = new AckBatcher();
    const ctx: SettleContext = {
      options,
      prefix: this.prefix,
      log: this.log,
      observer: this.options.observer,
      heartbeat: heartbeatFor(options, this.log),
      deadLetter: (record) => this.storeDeadLetter(record),
    };
    const state = { stopping: false };
    // Concurrency applies per event type: one type's backlog never starves another.
    const loops = names.map(({ type, name }) => {
      const slots = new Slots(options.concurrency);
      return { slots, done: this.fetchLoop(name, type, slots, ctx, acks, state) };
    });

    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      durable: options.durable,
      stop: () =>
        (stopped ??= (async () => {
          state.stopping = true;
          // Each loop ends when its current pull expires; what arrives meanwhile is handed back.
          await Promise.all(loops.map((l) => l.done));
          await Promise.all(loops.map((l) => l.slots.drain()));
          acks.flush();
          await this.nc.flush().catch(() => undefined);
          this.subscriptions.delete(subscription);
        })()),
      pending: async () => {
        let total = 0;
        for (const { name } of names) {
          const info = await this.jsm.consumers.info(this.eventsStream, name);
          total += info.num_pending + info.num_ack_pending;
        }
        return total;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Pulls only as many messages as there are free slots, and starts each as it arrives: nothing
   * waits unstarted (and unheartbeaten) in a buffer, so no ack wait expires on a message nobody
   * has begun.
   */
  private async fetchLoop(
    name: string,
    type: EventType,
    slots: Slots,
    ctx: SettleContext,
    acks: AckBatcher,
    state: { stopping: boolean },
  ): Promise<void> {
    let consumer: Consumer | undefined;
    while (!state.stopping) {
      await slots.waitForRoom();
      if (state.stopping) break;
      try {
        consumer ??= await this.js.consumers.get(this.eventsStream, name);
        const batch = await consumer.fetch({ max_messages: slots.free(), expires: FETCH_EXPIRES_MS });
        for await (const msg of batch) {
          if (state.stopping) acks.push(() => msg.nak());
          else slots.start(settleDelivery(toDelivery(msg, acks), ctx));
        }
      } catch (error) {
        if (state.stopping) break;
        this.log.warn({ err: error, consumer: name }, 'pull failed; retrying');
        consumer = undefined;
        await sleep(1000);
        // The consumer may have been deleted (a tenant reset, an operator): recreate it.
        await ensureConsumer(this.jsm, this.eventsStream, name, type, this.prefix, ctx.options.ackWaitMs).catch(() => undefined);
      }
    }
  }

  private async storeDeadLetter(record: DeadLetter): Promise<void> {
    await this.js.publish(deadLetterSubject(record.consumer, this.prefix), JSON.stringify(record), {
      // The same failure parked twice (a retry after a lost ack) is stored once.
      msgID: `${record.consumer}:${record.streamSeq}:${record.deliveryCount}`,
      timeout: this.options.publishTimeoutMs ?? 5000,
    });
  }

  read(options: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const types = options.types ?? [];
    const subjects = types.map((t) => subjectFor(t, this.prefix));
    const multi = supportsMultiFilter(this.nc.info?.version);
    const filter = subjects.length === 1 || (multi && subjects.length > 1) ? subjects : [];
    const wanted = new Set<string>(types);
    return mapStream(this.orderedRead(this.eventsStream, filter, options), (msg) => {
      let event: VigilEvent;
      try {
        event = decodeEvent(msg.data);
      } catch (error) {
        options.onInvalid?.({ seq: msg.seq, subject: msg.subject, error: error as Error });
        return undefined;
      }
      if (wanted.size > 0 && !wanted.has(event.type)) return undefined;
      if (options.incidentId !== undefined && event.incidentId !== options.incidentId) return undefined;
      return { seq: msg.seq, storedAt: msg.time, subject: msg.subject, event };
    });
  }

  deadLetters(options: { consumer?: string; follow?: boolean; signal?: AbortSignal } = {}): AsyncIterable<DeadLetter> {
    const filter = options.consumer === undefined ? [] : [deadLetterSubject(options.consumer, this.prefix)];
    return mapStream(this.orderedRead(this.deadLetterStream, filter, options), (msg) => {
      try {
        return JSON.parse(msg.string()) as DeadLetter;
      } catch {
        return undefined;
      }
    });
  }

  /** An ordered (ephemeral) consumer over a stream; ends at the end of history unless following. */
  private async *orderedRead(
    stream: string,
    filterSubjects: string[],
    options: Pick<ReadOptions, 'since' | 'fromSeq' | 'follow' | 'signal'>,
  ): AsyncGenerator<JsMsg> {
    const info = await this.jsm.streams.info(stream);
    if (!options.follow && info.state.messages === 0) return;
    const opts: Partial<OrderedConsumerOptions> = {};
    if (filterSubjects.length === 1) opts.filter_subjects = filterSubjects[0];
    else if (filterSubjects.length > 1) opts.filter_subjects = filterSubjects;
    if (options.fromSeq !== undefined) {
      opts.deliver_policy = DeliverPolicy.StartSequence;
      opts.opt_start_seq = options.fromSeq;
    } else if (options.since !== undefined) {
      opts.deliver_policy = DeliverPolicy.StartTime;
      opts.opt_start_time = options.since.toISOString();
    } else {
      opts.deliver_policy = DeliverPolicy.All;
    }
    const consumer = await this.js.consumers.get(stream, opts);
    // A cheap check before waiting: nothing matches the start point → nothing to read.
    if (!options.follow && (await consumer.info(true)).num_pending === 0) return;
    const messages: ConsumerMessages = await consumer.consume({ max_messages: 256, expires: 2000 });
    const abort = (): void => void messages.close();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const msg of messages) {
        yield msg;
        if (!options.follow && msg.info.pending === 0) break;
      }
    } finally {
      options.signal?.removeEventListener('abort', abort);
      await messages.close();
    }
  }

  async health(): Promise<BusHealth> {
    if (this.nc.isClosed()) return { ok: false, detail: 'connection closed' };
    try {
      await this.jsm.streams.info(this.eventsStream);
      return { ok: true, detail: `JetStream ${this.nc.getServer()} stream ${this.eventsStream}` };
    } catch (error) {
      return { ok: false, detail: `JetStream not answering: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

async function* mapStream<T>(source: AsyncIterable<JsMsg>, map: (msg: JsMsg) => T | undefined): AsyncGenerator<T> {
  for await (const msg of source) {
    const value = map(msg);
    if (value !== undefined) yield value;
  }
}

/**
 * Sends acknowledgements in batches. nats.js flushes its outbound buffer in a microtask, and each
 * settlement finishes in its own microtask chain, so acking one by one costs a socket write per
 * message. Queuing them and sending the queue in one synchronous loop per macrotask turns a
 * burst of acks into one write (about 1.6x the consume throughput, see bench/).
 */
class AckBatcher {
  private queue: Array<() => void> = [];
  private scheduled = false;

  push(action: () => void): void {
    this.queue.push(action);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const action of batch) action();
  }
}

function toDelivery(msg: JsMsg, acks: AckBatcher): Delivery {
  return {
    data: msg.data,
    subject: msg.subject,
    deliveryCount: msg.info.deliveryCount,
    streamSeq: msg.info.streamSequence,
    ack: () => acks.push(() => msg.ack()),
    nak: (delayMs) => acks.push(() => msg.nak(delayMs)),
    term: (reason) => acks.push(() => msg.term(reason)),
    working: () => msg.working(),
  };
}
