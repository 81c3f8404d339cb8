import { decodeEvent, typeOfSubject, type VigilEvent } from '@vigil/events';
import { toVigilError, VigilError } from '@vigil/errors';
import type { BusLogger, BusObserver, ConsumeOptions, DeadLetter, EventHandler, Settlement } from './port.js';

/** One received message, as either adapter presents it to the shared settlement logic. */
export interface Delivery {
  readonly data: Uint8Array;
  readonly subject: string;
  readonly deliveryCount: number;
  readonly streamSeq: number;
  ack(): void;
  nak(delayMs: number): void;
  term(reason: string): void;
  /** Tells the server the handler is still working (resets the ack wait). */
  working(): void;
}

export const defaultConsumeSettings = {
  concurrency: 8,
  maxDeliver: 5,
  backoffMs: [250, 1000, 5000, 15_000, 60_000],
  ackWaitMs: 30_000,
  maxHandlerMs: 15 * 60_000,
} as const;

export type ResolvedConsumeOptions = Required<Omit<ConsumeOptions, 'inbox'>> & Pick<ConsumeOptions, 'inbox'>;

function atLeast(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}, got ${value}`);
}

export function resolveConsumeOptions(options: ConsumeOptions): ResolvedConsumeOptions {
  // An option given as undefined means "the default", not "undefined".
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ConsumeOptions;
  const resolved = { ...defaultConsumeSettings, ...given };
  if (!/^[A-Za-z0-9_-]+$/.test(resolved.durable)) {
    throw new Error(`durable name "${resolved.durable}" must be letters, digits, _ or -`);
  }
  if (Object.keys(resolved.handlers).length === 0) throw new Error(`consumer ${resolved.durable} has no handlers`);
  atLeast('concurrency', resolved.concurrency, 1);
  atLeast('maxDeliver', resolved.maxDeliver, 1);
  atLeast('ackWaitMs', resolved.ackWaitMs, 1000);
  atLeast('maxHandlerMs', resolved.maxHandlerMs, 1000);
  if (resolved.backoffMs.length === 0 || resolved.backoffMs.some((ms) => !Number.isInteger(ms) || ms < 0)) {
    throw new Error('backoffMs must be a non-empty list of whole milliseconds');
  }
  return resolved;
}

/**
 * Keeps long handlers' deliveries alive: one ticker per consumer copy tells the server every
 * running delivery is still being worked on, instead of a timer per message. A handler running
 * longer than `maxHandlerMs` is no longer kept alive: JetStream redelivers its message to another
 * copy, and the stuck one is reported.
 */
export class Heartbeat {
  private readonly running = new Map<Delivery, number>();
  private readonly reported = new Set<Delivery>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly maxHandlerMs: number,
    private readonly onStuck: (delivery: Delivery, runningMs: number) => void,
  ) {}

  add(delivery: Delivery): void {
    this.running.set(delivery, Date.now());
    this.timer ??= setInterval(() => this.beat(), this.everyMs).unref();
  }

  private beat(): void {
    const now = Date.now();
    for (const [delivery, since] of this.running) {
      if (now - since <= this.maxHandlerMs) delivery.working();
      else if (!this.reported.has(delivery)) {
        this.reported.add(delivery);
        this.onStuck(delivery, now - since);
      }
    }
  }

  delete(delivery: Delivery): void {
    this.running.delete(delivery);
    this.reported.delete(delivery);
    if (this.running.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** How often running deliveries are reported as still in progress: well inside the ack wait. */
export function heartbeatFor(options: ResolvedConsumeOptions, log: BusLogger): Heartbeat {
  return new Heartbeat(Math.max(500, Math.floor(options.ackWaitMs / 3)), options.maxHandlerMs, (delivery, runningMs) =>
    log.error(
      { consumer: options.durable, subject: delivery.subject, seq: delivery.streamSeq, runningMs },
      'handler is stuck; its message will be redelivered',
    ),
  );
}

export interface SettleContext {
  options: ResolvedConsumeOptions;
  /** The subject prefix, to check that a message's subject matches its event type. */
  prefix: string;
  log: BusLogger;
  observer: BusObserver | undefined;
  heartbeat: Heartbeat;
  /** Parks a message on the dead-letter subject; must be durable before it resolves. */
  deadLetter(record: DeadLetter): Promise<void>;
}

const RAW_LIMIT = 64 * 1024;

/**
 * The one place that decides what happens to a delivery: success → ack; retryable failure →
 * nak with backoff until maxDeliver; invalid or non-retryable → dead letter + term. Handlers
 * never ack by hand. If the dead letter cannot be written, the message is nak'ed instead of
 * terminated, so nothing is ever dropped silently.
 */
export async function settleDelivery(delivery: Delivery, ctx: SettleContext): Promise<Settlement> {
  const started = performance.now();
  const { options, log } = ctx;
  let event: VigilEvent | undefined;
  let settlement: Settlement;
  let failure: VigilError | undefined;

  const park = async (error: VigilError): Promise<Settlement> => {
    const record: DeadLetter = {
      consumer: options.durable,
      subject: delivery.subject,
      streamSeq: delivery.streamSeq,
      deliveryCount: delivery.deliveryCount,
      failedAt: new Date().toISOString(),
      error: { code: error.code, message: error.message, retryable: error.retryable },
      ...(event === undefined ? { raw: new TextDecoder().decode(delivery.data.subarray(0, RAW_LIMIT)) } : { event }),
    };
    try {
      await ctx.deadLetter(record);
    } catch (dlError) {
      log.error({ err: dlError, subject: delivery.subject, seq: delivery.streamSeq }, 'dead letter not stored; will retry');
      delivery.nak(backoffFor(options, delivery.deliveryCount));
      return 'nak';
    }
    delivery.term(`${error.code}: ${error.message}`.slice(0, 1000));
    return 'term';
  };

  const retryOrPark = async (error: VigilError): Promise<Settlement> => {
    if (!error.retryable || delivery.deliveryCount >= options.maxDeliver) return park(error);
    delivery.nak(error.retryAfterMs ?? backoffFor(options, delivery.deliveryCount));
    return 'nak';
  };

  try {
    event = decodeEvent(delivery.data);
  } catch (error) {
    failure = toVigilError(error);
  }

  if (event === undefined) {
    settlement = await park(failure ?? toVigilError(new Error('undecodable message')));
  } else if (typeOfSubject(delivery.subject, ctx.prefix) !== event.type) {
    // A body claiming another type than its subject is refused: handlers follow the subject,
    // which is what NATS permissions control.
    failure = new VigilError('EVENT_INVALID', `subject ${delivery.subject} carries an event of type ${event.type}`);
    settlement = await park(failure);
  } else {
    const handler = options.handlers[event.type] as EventHandler | undefined;
    if (handler === undefined) {
      // This copy does not handle the type (say, a rolling deploy that added one): give it back
      // for a copy that does; parked after maxDeliver if none ever does. Never acked unhandled.
      failure = new VigilError('NO_HANDLER', `this copy of ${options.durable} has no handler for ${event.type}`, { retryable: true });
      settlement = await retryOrPark(failure);
    } else if (delivery.deliveryCount > options.maxDeliver) {
      // A delivery beyond the limit that never settled: the handler crashed the process or
      // outran the ack wait every time. Park it without running it again.
      failure = new VigilError('MAX_DELIVERIES_EXCEEDED', `exceeded ${options.maxDeliver} deliveries without settling`);
      settlement = await park(failure);
    } else {
      ctx.heartbeat.add(delivery);
      try {
        const current = event;
        const context = {
          deliveryCount: delivery.deliveryCount,
          consumer: options.durable,
          log: log.child({ incidentId: current.incidentId, eventId: current.id, type: current.type, consumer: options.durable }),
        };
        let duplicate = false;
        if (options.inbox) {
          ({ duplicate } = await options.inbox.once(options.durable, current.id, () => handler(current, context)));
        } else {
          await handler(current, context);
        }
        delivery.ack();
        settlement = duplicate ? 'duplicate' : 'ack';
      } catch (error) {
        failure = toVigilError(error);
        settlement = await retryOrPark(failure);
      } finally {
        ctx.heartbeat.delete(delivery);
      }
    }
  }

  const durationMs = performance.now() - started;
  const summary = {
    consumer: options.durable,
    type: event?.type ?? delivery.subject,
    incidentId: event?.incidentId ?? null,
    eventId: event?.id ?? null,
    settlement,
    deliveryCount: delivery.deliveryCount,
    durationMs,
    ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
  };
  ctx.observer?.onSettled?.(summary);
  // One summary line per handled message, with its outcome and duration.
  if (failure) log.warn(summary, 'event handling failed');
  else log.info(summary, 'event handled');
  return settlement;
}

export function backoffFor(options: Pick<ResolvedConsumeOptions, 'backoffMs'>, deliveryCount: number): number {
  const list = options.backoffMs;
  return list[Math.min(Math.max(deliveryCount - 1, 0), list.length - 1)] ?? 1000;
}

/** Runs tasks while at most `limit` run at once. */
export class Slots {
  private readonly running = new Set<Promise<unknown>>();
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.running.size;
  }

  hasRoom(): boolean {
    return this.running.size < this.limit;
  }

  /** How many more tasks may start now. */
  free(): number {
    return Math.max(0, this.limit - this.running.size);
  }

  async waitForRoom(): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
  }

  /** Tracks `task`; `onFreed` runs once its slot is free again. */
  start(task: Promise<unknown>, onFreed?: () => void): void {
    const tracked: Promise<unknown> = task
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.running.delete(tracked);
        onFreed?.();
      });
    this.running.add(tracked);
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
