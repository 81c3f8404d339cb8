import { decodeEvent, type VigilEvent } from '@vigil/events';
import { toVigilError, type VigilError } from '@vigil/errors';
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
} as const;

export type ResolvedConsumeOptions = Required<Omit<ConsumeOptions, 'inbox'>> & Pick<ConsumeOptions, 'inbox'>;

/** How often running deliveries are reported as still in progress: well inside the ack wait. */
export function heartbeatFor(options: Pick<ResolvedConsumeOptions, 'ackWaitMs'>): Heartbeat {
  return new Heartbeat(Math.max(1000, Math.floor(options.ackWaitMs / 3)));
}

export function resolveConsumeOptions(options: ConsumeOptions): ResolvedConsumeOptions {
  const resolved = { ...defaultConsumeSettings, ...options };
  if (!/^[A-Za-z0-9_-]+$/.test(resolved.durable)) {
    throw new Error(`durable name "${resolved.durable}" must be letters, digits, _ or -`);
  }
  if (Object.keys(resolved.handlers).length === 0) throw new Error(`consumer ${resolved.durable} has no handlers`);
  if (resolved.concurrency < 1 || resolved.maxDeliver < 1 || resolved.backoffMs.length === 0) {
    throw new Error('concurrency and maxDeliver must be at least 1, and backoffMs must not be empty');
  }
  return resolved;
}

/**
 * Keeps long handlers' deliveries alive: one ticker per consumer copy tells the server every
 * running delivery is still being worked on, instead of a timer per message.
 */
export class Heartbeat {
  private readonly running = new Set<Delivery>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly everyMs: number) {}

  add(delivery: Delivery): void {
    this.running.add(delivery);
    this.timer ??= setInterval(() => {
      for (const d of this.running) d.working();
    }, this.everyMs).unref();
  }

  delete(delivery: Delivery): void {
    this.running.delete(delivery);
    if (this.running.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

export interface SettleContext {
  options: ResolvedConsumeOptions;
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

  try {
    event = decodeEvent(delivery.data);
  } catch (error) {
    failure = toVigilError(error);
  }

  if (event === undefined) {
    settlement = await park(failure ?? toVigilError(new Error('undecodable message')));
  } else {
    const handler = options.handlers[event.type] as EventHandler | undefined;
    if (handler === undefined) {
      // Only happens when the server cannot filter by several subjects (nats-server < 2.10).
      delivery.ack();
      settlement = 'skipped';
    } else if (delivery.deliveryCount > options.maxDeliver) {
      // A delivery beyond the limit that never settled: the handler crashed the process or
      // outran the ack wait every time. Park it without running it again.
      failure = toVigilError(new Error(`exceeded ${options.maxDeliver} deliveries without settling`), 'MAX_DELIVERIES_EXCEEDED');
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
        if (!failure.retryable || delivery.deliveryCount >= options.maxDeliver) {
          settlement = await park(failure);
        } else {
          delivery.nak(failure.retryAfterMs ?? backoffFor(options, delivery.deliveryCount));
          settlement = 'nak';
        }
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
  else if (settlement === 'skipped') log.debug(summary, 'event not for this consumer');
  else log.info(summary, 'event handled');
  return settlement;
}

export function backoffFor(options: Pick<ResolvedConsumeOptions, 'backoffMs'>, deliveryCount: number): number {
  const list = options.backoffMs;
  return list[Math.min(Math.max(deliveryCount - 1, 0), list.length - 1)] ?? 1000;
}

/** Runs `task` while at most `limit` run at once; resolves when a slot is free again. */
export class Slots {
  private readonly running = new Set<Promise<unknown>>();
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.running.size;
  }

  hasRoom(): boolean {
    return this.running.size < this.limit;
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
