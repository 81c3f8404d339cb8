import {
  deadLetterSubject,
  decodeEvent,
  encodeEvent,
  isEventType,
  normalisePrefix,
  parseEvent,
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

export interface MemoryBusOptions {
  prefix?: string;
  duplicateWindowMs?: number;
  /** Oldest entries are dropped beyond this many (history kept for replay). */
  maxEntries?: number;
  logger?: BusLogger;
  observer?: BusObserver;
}

interface Entry {
  seq: number;
  subject: string;
  data: Uint8Array;
  storedAt: Date;
}

/** An append-only log with publish de-duplication by message id, like a JetStream stream. */
class Log {
  readonly entries: Entry[] = [];
  private firstSeq = 1;
  private readonly recentIds = new Map<string, { seq: number; at: number }>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly duplicateWindowMs: number,
    private readonly maxEntries: number,
  ) {}

  append(subject: string, data: Uint8Array, msgId: string): PublishResult {
    const now = Date.now();
    const seen = this.recentIds.get(msgId);
    if (seen && now - seen.at < this.duplicateWindowMs) return { seq: seen.seq, duplicate: true };
    const seq = this.firstSeq + this.entries.length;
    this.entries.push({ seq, subject, data, storedAt: new Date(now) });
    this.recentIds.set(msgId, { seq, at: now });
    for (const [id, { at }] of this.recentIds) {
      if (now - at < this.duplicateWindowMs) break;
      this.recentIds.delete(id);
    }
    if (this.entries.length > this.maxEntries) {
      this.entries.shift();
      this.firstSeq += 1;
    }
    for (const listener of this.listeners) listener();
    return { seq, duplicate: false };
  }

  get(seq: number): Entry | undefined {
    return this.entries[seq - this.firstSeq];
  }

  get lastSeq(): number {
    return this.firstSeq + this.entries.length - 1;
  }

  get first(): number {
    return this.firstSeq;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

interface Worker {
  slots: Slots;
  stopped: boolean;
  /** Each copy settles with its own handlers, as separate processes would. */
  settle(delivery: Delivery): Promise<unknown>;
}

/**
 * A durable consumer of one event type, as on JetStream: its cursor and redelivery queue are
 * shared by every copy (worker) subscribed to it.
 */
class Durable {
  private cursor: number;
  private readonly ready: Array<{ seq: number; count: number }> = [];
  private readonly timers = new Map<NodeJS.Timeout, number>();
  private readonly unacked = new Set<number>();
  readonly workers: Worker[] = [];
  private turn = 0;

  constructor(
    private readonly log: Log,
    private readonly subject: string,
  ) {
    this.cursor = log.first;
  }

  private next(): { seq: number; count: number } | undefined {
    const redelivery = this.ready.shift();
    if (redelivery) return redelivery;
    while (this.cursor <= this.log.lastSeq) {
      const seq = Math.max(this.cursor, this.log.first);
      this.cursor = seq + 1;
      if (this.log.get(seq)?.subject === this.subject) return { seq, count: 1 };
    }
    return undefined;
  }

  /** Not yet acknowledged: waiting, being handled, or waiting out a retry delay. */
  pending(): number {
    let waiting = 0;
    for (let seq = Math.max(this.cursor, this.log.first); seq <= this.log.lastSeq; seq++) {
      if (this.log.get(seq)?.subject === this.subject) waiting++;
    }
    return waiting + this.ready.length + this.unacked.size + this.timers.size;
  }

  /** Hands messages to copies with room, in turn, until there is nothing or no room. */
  pump(): void {
    for (;;) {
      const candidates = this.workers.filter((w) => !w.stopped && w.slots.hasRoom());
      if (candidates.length === 0) return;
      const item = this.next();
      if (!item) return;
      const worker = candidates[this.turn++ % candidates.length] as Worker;
      this.deliver(worker, item);
    }
  }

  private deliver(worker: Worker, item: { seq: number; count: number }): void {
    const entry = this.log.get(item.seq);
    if (!entry) return; // aged out of the log
    this.unacked.add(item.seq);
    let settled = false;
    const settle = (requeueAfterMs?: number): void => {
      if (settled) return;
      settled = true;
      this.unacked.delete(item.seq);
      if (requeueAfterMs !== undefined) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.ready.push({ seq: item.seq, count: item.count + 1 });
          this.pump();
        }, requeueAfterMs);
        this.timers.set(timer, item.seq);
      }
    };
    const delivery: Delivery = {
      data: entry.data,
      subject: entry.subject,
      deliveryCount: item.count,
      streamSeq: item.seq,
      ack: () => settle(),
      nak: (delayMs) => settle(delayMs),
      term: () => settle(),
      working: () => undefined,
    };
    worker.slots.start(
      worker.settle(delivery).finally(() => {
        // A delivery left unsettled (settleDelivery always settles; defence in depth) is redelivered.
        if (!settled) settle(0);
      }),
      () => this.pump(),
    );
  }

  clearTimers(): void {
    for (const timer of this.timers.keys()) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * The in-process bus for single-process mode: the same contract as JetStream (durable consumers
 * shared by copies, redelivery with backoff, dead letters, publish de-duplication, replayable
 * history), kept in memory.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly prefix: string;
  private readonly events: Log;
  private readonly dead: Log;
  private readonly durables = new Map<string, Durable>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly log: BusLogger;
  private closed = false;

  constructor(private readonly options: MemoryBusOptions = {}) {
    this.prefix = normalisePrefix(options.prefix);
    this.log = options.logger ?? silentLogger;
    const window = options.duplicateWindowMs ?? 2 * 60_000;
    this.events = new Log(window, options.maxEntries ?? 100_000);
    this.dead = new Log(window, options.maxEntries ?? 100_000);
  }

  async publish(event: VigilEvent): Promise<PublishResult> {
    const valid = parseEvent(event);
    return this.appendRaw(subjectFor(valid.type, this.prefix), encodeEvent(valid), valid.id);
  }

  /**
   * Appends a message without validation, as a stream import or a misbehaving producer would;
   * consumers then apply the same checks as on JetStream (invalid data is dead-lettered).
   */
  appendRaw(subject: string, data: Uint8Array, msgId: string): PublishResult {
    if (this.closed) throw new Error('bus is closed');
    const result = this.events.append(subject, data, msgId);
    if (!result.duplicate) for (const durable of this.durables.values()) durable.pump();
    return result;
  }

  async consume(consumeOptions: ConsumeOptions): Promise<Subscription> {
    const options = resolveConsumeOptions(consumeOptions);
    const ctx: SettleContext = {
      options,
      prefix: this.prefix,
      log: this.log,
      observer: this.options.observer,
      heartbeat: heartbeatFor(options, this.log),
      deadLetter: async (record: DeadLetter) => {
        this.dead.append(
          deadLetterSubject(record.consumer, this.prefix),
          encodeJson(record),
          `${record.consumer}:${record.streamSeq}:${record.deliveryCount}`,
        );
      },
    };
    // As on JetStream: one durable per (service, type), concurrency per type.
    const joined = Object.keys(options.handlers)
      .filter(isEventType)
      .map((type) => {
        const name = `${options.durable}__${type}`;
        let durable = this.durables.get(name);
        if (!durable) {
          durable = new Durable(this.events, subjectFor(type, this.prefix));
          this.durables.set(name, durable);
        }
        const worker: Worker = {
          slots: new Slots(options.concurrency),
          stopped: false,
          settle: (delivery) => settleDelivery(delivery, ctx),
        };
        durable.workers.push(worker);
        return { durable, worker };
      });
    let stopped: Promise<void> | undefined;
    const subscription: Subscription = {
      durable: options.durable,
      stop: () =>
        (stopped ??= (async () => {
          for (const { durable, worker } of joined) {
            worker.stopped = true;
            durable.workers.splice(durable.workers.indexOf(worker), 1);
          }
          await Promise.all(joined.map(({ worker }) => worker.slots.drain()));
          this.subscriptions.delete(subscription);
          for (const { durable } of joined) durable.pump();
        })()),
      pending: async () => joined.reduce((sum, { durable }) => sum + durable.pending(), 0),
    };
    this.subscriptions.add(subscription);
    queueMicrotask(() => joined.forEach(({ durable }) => durable.pump()));
    return subscription;
  }

  read(options: ReadOptions = {}): AsyncIterable<StoredEvent> {
    const wanted = new Set<EventType>(options.types ?? []);
    return mapEntries(this.events, options, (entry) => {
      let event: VigilEvent;
      try {
        event = decodeEvent(entry.data);
      } catch (error) {
        options.onInvalid?.({ seq: entry.seq, subject: entry.subject, error: error as Error });
        return undefined;
      }
      if (wanted.size > 0 && !wanted.has(event.type)) return undefined;
      if (options.incidentId !== undefined && event.incidentId !== options.incidentId) return undefined;
      return { seq: entry.seq, storedAt: entry.storedAt, subject: entry.subject, event };
    });
  }

  deadLetters(options: { consumer?: string; follow?: boolean; signal?: AbortSignal } = {}): AsyncIterable<DeadLetter> {
    return mapEntries(this.dead, options, (entry) => {
      const record = JSON.parse(new TextDecoder().decode(entry.data)) as DeadLetter;
      return options.consumer === undefined || record.consumer === options.consumer ? record : undefined;
    });
  }

  async health(): Promise<BusHealth> {
    return this.closed ? { ok: false, detail: 'bus closed' } : { ok: true, detail: 'in-process bus' };
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    for (const durable of this.durables.values()) durable.clearTimers();
    this.closed = true;
  }
}

function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

async function* mapEntries<T>(
  log: Log,
  options: Pick<ReadOptions, 'since' | 'fromSeq' | 'follow' | 'signal'>,
  map: (entry: Entry) => T | undefined,
): AsyncGenerator<T> {
  let seq = Math.max(options.fromSeq ?? log.first, log.first);
  for (;;) {
    while (seq <= log.lastSeq) {
      const entry = log.get(Math.max(seq, log.first));
      seq = Math.max(seq, log.first) + 1;
      if (!entry || (options.since && entry.storedAt < options.since)) continue;
      const value = map(entry);
      if (value !== undefined) yield value;
    }
    if (!options.follow || options.signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const off = log.onAppend(() => {
        off();
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        off();
        resolve();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
