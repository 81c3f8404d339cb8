import type { EventType, VigilEvent } from '@vigil/events';
import type { Inbox } from './inbox.js';

/** What a handler learns about the delivery it is handling. */
export interface HandlerContext {
  /** 1 on the first delivery, 2 on the first redelivery, … */
  readonly deliveryCount: number;
  /** The durable consumer (the service) handling it. */
  readonly consumer: string;
  /** A child logger carrying the incident id, event id, type and consumer. */
  readonly log: BusLogger;
}

export type EventHandler<T extends EventType = EventType> = (event: VigilEvent<T>, ctx: HandlerContext) => Promise<void>;

/** One handler per consumed type; the keys are the consumer's filter. */
export type HandlerMap = { [T in EventType]?: EventHandler<T> };

export interface ConsumeOptions {
  /** Durable name, normally the service name: every copy with this name shares the work. */
  durable: string;
  handlers: HandlerMap;
  /** Handlers running at once in this copy. Default 8. */
  concurrency?: number;
  /** Deliveries before a failing message is parked on the dead-letter subject. Default 5. */
  maxDeliver?: number;
  /** Delay before redelivery after a retryable failure, by delivery count; the last repeats. */
  backoffMs?: readonly number[];
  /** How long a delivery may go unacknowledged before JetStream redelivers it. Default 30 s. */
  ackWaitMs?: number;
  /** A handler running longer than this is no longer kept alive (its message is redelivered). Default 15 min. */
  maxHandlerMs?: number;
  /** Skips events this consumer has already processed (redelivery after a lost ack, replays). */
  inbox?: Inbox;
}

/** A running consumer copy. */
export interface Subscription {
  readonly durable: string;
  /**
   * Graceful stop: fetch nothing more, hand back what was fetched but not started, and wait for
   * the handlers that are running to finish and be acknowledged. Every call returns the same
   * promise.
   */
  stop(): Promise<void>;
  /** Messages this durable has not yet had acknowledged (the consumer lag). */
  pending(): Promise<number>;
}

export interface PublishResult {
  /** Position in the stream. For a duplicate, the position of the first copy. */
  seq: number;
  /** True when an event with the same id was already stored (within the duplicate window). */
  duplicate: boolean;
}

export interface ReadOptions {
  types?: readonly EventType[];
  incidentId?: string;
  /** Start from events stored at or after this time. */
  since?: Date;
  /** Start from this stream sequence. */
  fromSeq?: number;
  /** Keep waiting for new events instead of stopping at the end of history. */
  follow?: boolean;
  /** Stop reading (used with follow). */
  signal?: AbortSignal;
  /** Called for a stored message that is not a valid event; it is skipped, not fatal. */
  onInvalid?: (info: { seq: number; subject: string; error: Error }) => void;
}

export interface StoredEvent {
  seq: number;
  storedAt: Date;
  subject: string;
  event: VigilEvent;
}

/** A message a consumer gave up on, with the reason. Nothing is dropped silently. */
export interface DeadLetter {
  consumer: string;
  subject: string;
  streamSeq: number;
  deliveryCount: number;
  failedAt: string;
  error: { code: string; message: string; retryable: boolean };
  /** The event, when it could be decoded. */
  event?: VigilEvent;
  /** The raw message (truncated), when it could not. */
  raw?: string;
}

export interface BusHealth {
  ok: boolean;
  detail: string;
}

/** Notified of every settled delivery: metrics and summaries hang off this. */
export interface BusObserver {
  onSettled?(record: SettledDelivery): void;
}

export type Settlement = 'ack' | 'nak' | 'term' | 'duplicate';

export interface SettledDelivery {
  consumer: string;
  type: string;
  incidentId: string | null;
  eventId: string | null;
  settlement: Settlement;
  deliveryCount: number;
  durationMs: number;
  error?: { code: string; message: string };
}

/**
 * The bus port. Two adapters keep the same contract: JetStream (production, many processes)
 * and in-process (single-process mode). The contract suite in bus.contract.ts runs on both.
 */
export interface Bus {
  readonly kind: 'nats' | 'memory';
  readonly prefix: string;
  /** Validates and stores the event; resolves once it is durable (JetStream ack). */
  publish(event: VigilEvent): Promise<PublishResult>;
  consume(options: ConsumeOptions): Promise<Subscription>;
  /** The stored history, oldest first (what `vigil events tail` prints). */
  read(options?: ReadOptions): AsyncIterable<StoredEvent>;
  deadLetters(options?: { consumer?: string; follow?: boolean; signal?: AbortSignal }): AsyncIterable<DeadLetter>;
  health(): Promise<BusHealth>;
  /** Stops every subscription gracefully, then closes the connection. */
  close(): Promise<void>;
}

/** Structural logger type (pino satisfies it) so the bus does not depend on a logger package. */
export interface BusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): BusLogger;
}

export const silentLogger: BusLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
