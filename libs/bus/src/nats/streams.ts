import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { connectionOptions } from './connection.js';
import { VigilError } from '@vigil/errors';
import { streamName, streamSubjects, subjectFor, type EventType, type StreamKey } from '@vigil/events';
import type { BusLogger } from '../port.js';

export interface StreamSettings {
  prefix: string;
  /** How long event history is kept (replayable), in ms. Only ever raised on an existing stream. */
  maxAgeMs?: number;
  /** Window in which a repeated `Nats-Msg-Id` is stored once, in ms. */
  duplicateWindowMs?: number;
  /** Only applied when given: a service start never scales a stream down. */
  replicas?: number;
}

const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600_000;
const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function newStreamConfig(stream: StreamKey, settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = settings.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  return {
    name: streamName(stream, settings.prefix),
    subjects: streamSubjects(stream, settings.prefix),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    // Dead letters are kept until someone deals with them: expiring them would be a silent drop.
    max_age: stream === 'deadletters' ? 0 : nanos(maxAgeMs),
    duplicate_window: nanos(Math.min(settings.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS, maxAgeMs)),
    num_replicas: settings.replicas ?? 1,
  };
}

/**
 * Creates the streams if missing. On existing streams it only adds missing subjects and raises
 * limits that were configured higher; it never lowers retention or replicas (that would delete
 * history or redundancy someone chose) — it warns instead.
 */
export async function ensureStreams(jsm: JetStreamManager, settings: StreamSettings, log: BusLogger): Promise<void> {
  for (const stream of ['events', 'deadletters'] as const) {
    const wanted = newStreamConfig(stream, settings);
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(wanted.name)).config;
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    }
    if (existing === undefined) {
      try {
        await jsm.streams.add(wanted);
        continue;
      } catch (error) {
        // Another copy created it between our look and our add: treat it as existing.
        if (!(error instanceof JetStreamApiError)) throw error;
        existing = (await jsm.streams.info(wanted.name)).config;
      }
    }
    const update: Partial<StreamConfig> = {};
    const subjects = [...new Set([...existing.subjects, ...(wanted.subjects ?? [])])];
    if (subjects.length !== existing.subjects.length) update.subjects = subjects;
    if (stream === 'events' && settings.maxAgeMs !== undefined && wanted.max_age !== undefined && existing.max_age !== 0) {
      if (wanted.max_age > existing.max_age) update.max_age = wanted.max_age;
      else if (wanted.max_age < existing.max_age) {
        log.warn({ stream: wanted.name, configuredMs: settings.maxAgeMs, keptNs: existing.max_age }, 'not lowering stream retention');
      }
    }
    if (
      settings.duplicateWindowMs !== undefined &&
      wanted.duplicate_window !== undefined &&
      wanted.duplicate_window > existing.duplicate_window
    ) {
      update.duplicate_window = wanted.duplicate_window;
    }
    if (settings.replicas !== undefined && settings.replicas !== existing.num_replicas) {
      if (settings.replicas > existing.num_replicas) update.num_replicas = settings.replicas;
      else log.warn({ stream: wanted.name, configured: settings.replicas, kept: existing.num_replicas }, 'not lowering stream replicas');
    }
    if (Object.keys(update).length > 0) await jsm.streams.update(wanted.name, update);
  }
}

/** For readers (the CLI): the streams must exist; nothing is created or changed. */
export async function requireStreams(jsm: JetStreamManager, prefix: string): Promise<void> {
  const name = streamName('events', prefix);
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    throw new VigilError(
      'BUS_NOT_SET_UP',
      `no stream ${name} on this server: no Vigil service has started here yet${prefix ? '' : ' (or set VIGIL_SUBJECT_PREFIX)'}`,
    );
  }
}

/**
 * The durable consumer of one service for one event type: `orchestrator__hypothesis_received`.
 * One per (service, type) rather than one per service with several filters, because
 * nats-server learned several filter subjects only in 2.10 and the alternative — one unfiltered
 * consumer that acks what it does not handle — would drop messages during a rolling deploy.
 */
export function durableName(service: string, type: EventType): string {
  return `${service}__${type.replace(/\./g, '_')}`;
}

/** nats-server learned several filter subjects per consumer in 2.10 (used by ordered reads). */
export function supportsMultiFilter(serverVersion: string | undefined): boolean {
  const [major = 0, minor = 0] = (serverVersion ?? '0.0').split('.').map((n) => parseInt(n, 10));
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * Makes sure the durable consumer exists with the right filter and ack wait. A consumer whose
 * filter or ack wait differs is recreated from its acknowledged position (servers differ in what
 * they let an update change), so nothing already handled is delivered again.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  name: string,
  type: EventType,
  prefix: string,
  ackWaitMs: number,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subjectFor(type, prefix),
    ack_wait: nanos(ackWaitMs),
    // Unlimited on the server: the bus itself parks a message after maxDeliver, with its error,
    // which the server's own limit would not record anywhere.
    max_deliver: -1,
    max_ack_pending: 10_000,
  };
  let existing;
  try {
    existing = await jsm.consumers.info(stream, name);
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
  }
  if (existing === undefined) {
    try {
      await jsm.consumers.add(stream, config);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      existing = await jsm.consumers.info(stream, name); // a copy created it meanwhile
    }
  }
  if (existing.config.filter_subject === config.filter_subject && existing.config.ack_wait === config.ack_wait) return;
  const resumeAt = existing.ack_floor.stream_seq + 1;
  await jsm.consumers.delete(stream, name);
  await jsm.consumers.add(stream, { ...config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeAt });
}

/** Deletes a prefix's streams and everything in them: a tenant removed, a test cleaned up. */
export async function deleteNatsStreams(options: { url: string; prefix?: string }): Promise<void> {
  const nc = await connect(connectionOptions(options.url));
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of ['events', 'deadletters'] as const) {
      try {
        await jsm.streams.delete(streamName(stream, options.prefix));
      } catch (error) {
        if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
      }
    }
  } finally {
    await nc.close();
  }
}
