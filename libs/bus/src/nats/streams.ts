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
import { VigilError } from '@vigil/errors';
import { streamName, streamSubjects, subjectFor, type EventType, type StreamKey } from '@vigil/events';

export interface StreamSettings {
  prefix: string;
  /** How long history is kept (replayable), in ms. */
  maxAgeMs: number;
  /** Window in which a repeated `Nats-Msg-Id` is stored once, in ms. */
  duplicateWindowMs: number;
  replicas: number;
}

function streamConfig(stream: StreamKey, settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: streamName(stream, settings.prefix),
    subjects: streamSubjects(stream, settings.prefix),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(settings.maxAgeMs),
    duplicate_window: nanos(Math.min(settings.duplicateWindowMs, settings.maxAgeMs)),
    num_replicas: settings.replicas,
  };
}

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/** Creates the streams, or brings an existing one's subjects and limits up to date. Idempotent. */
export async function ensureStreams(jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  for (const stream of ['events', 'deadletters'] as const) {
    const config = streamConfig(stream, settings);
    try {
      await jsm.streams.info(config.name);
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
      try {
        await jsm.streams.add(config);
        continue;
      } catch (addError) {
        // Another copy created it between our info and add: fall through to update.
        if (!(addError instanceof JetStreamApiError)) throw addError;
      }
    }
    const { name, storage: _storage, retention: _retention, ...updatable } = config;
    await jsm.streams.update(name, updatable);
  }
}

/** nats-server learned several filter subjects per consumer in 2.10. */
export function supportsMultiFilter(serverVersion: string | undefined): boolean {
  const [major = 0, minor = 0] = (serverVersion ?? '0.0').split('.').map((n) => parseInt(n, 10));
  return major > 2 || (major === 2 && minor >= 10);
}

/** The filter for a consumer of `types`: several subjects where the server can, else one or none. */
export function consumerFilter(types: EventType[], prefix: string, multi: boolean): Partial<ConsumerConfig> {
  const subjects = types.map((t) => subjectFor(t, prefix));
  if (subjects.length === 1) return { filter_subject: subjects[0] };
  if (multi) return { filter_subjects: subjects };
  // Older servers: deliver the whole stream; the consumer acks what it does not handle.
  return {};
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  filter: Partial<ConsumerConfig>,
  ackWaitMs: number,
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    // Unlimited on the server: the bus itself parks a message after maxDeliver, with its error,
    // which the server's own limit would not record anywhere.
    max_deliver: -1,
    max_ack_pending: 10_000,
    ...filter,
  };
  let existing: ConsumerConfig | undefined;
  try {
    existing = (await jsm.consumers.info(stream, durable)).config;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
  }
  if (existing === undefined) {
    try {
      await jsm.consumers.add(stream, config);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      existing = (await jsm.consumers.info(stream, durable)).config;
    }
  }
  const same =
    existing.filter_subject === config.filter_subject &&
    JSON.stringify(existing.filter_subjects ?? []) === JSON.stringify(config.filter_subjects ?? []) &&
    existing.ack_wait === config.ack_wait;
  if (same) return;
  try {
    const { durable_name: _d, ack_policy: _a, deliver_policy: _p, ...updatable } = config;
    await jsm.consumers.update(stream, durable, updatable);
  } catch (error) {
    throw new VigilError(
      'BUS_CONSUMER_CONFLICT',
      `durable consumer ${durable} on ${stream} exists with another configuration and could not be updated ` +
        `(${(error as Error).message}); delete it with: nats consumer rm ${stream} ${durable}`,
      { cause: error },
    );
  }
}

/** Deletes a prefix's streams and everything in them: a tenant removed, a test cleaned up. */
export async function deleteNatsStreams(options: { url: string; prefix?: string }): Promise<void> {
  const nc = await connect({ servers: options.url });
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
