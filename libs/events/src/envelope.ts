import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { catalog, isEventType, type EventData, type EventDataInput, type EventType } from './catalog.js';
import { Timestamp } from './schemas/common.js';
import { uuidv7 } from './uuidv7.js';

/** The envelope every event travels in. `data` is checked against the catalog's schema. */
export const EventEnvelope = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  incidentId: z.string().min(1).max(255).nullable(),
  occurredAt: Timestamp,
  causationId: z.uuid().nullable(),
  correlationId: z.string().min(1).max(255),
  source: z.string().min(1).max(64),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** A validated event of one type (a union over all types when no type is given). */
export type VigilEvent<T extends EventType = EventType> = {
  [K in T]: Omit<EventEnvelope, 'type' | 'data'> & { type: K; data: EventData<K> };
}[T];

export interface EventMeta {
  source: string;
  incidentId?: string | null;
  /** The event this one answers; its id becomes causationId and its correlationId is kept. */
  causedBy?: Pick<EventEnvelope, 'id' | 'correlationId'>;
  correlationId?: string;
  /** Give a deterministic id (see deterministicUuidv7) when a sender may redeliver. */
  id?: string;
  occurredAt?: Date | string;
}

/** Builds and validates an event; throws EVENT_INVALID naming the offending field. */
export function createEvent<T extends EventType>(type: T, data: EventDataInput<T>, meta: EventMeta): VigilEvent<T> {
  const id = meta.id ?? uuidv7();
  const occurredAt =
    meta.occurredAt === undefined
      ? new Date().toISOString()
      : typeof meta.occurredAt === 'string'
        ? meta.occurredAt
        : meta.occurredAt.toISOString();
  return parseEvent({
    id,
    type,
    version: catalog[type].version,
    incidentId: meta.incidentId ?? null,
    occurredAt,
    causationId: meta.causedBy?.id ?? null,
    correlationId: meta.correlationId ?? meta.causedBy?.correlationId ?? meta.incidentId ?? id,
    source: meta.source,
    data,
  }) as VigilEvent<T>;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], root: string): Array<{ path: string; message: string }> {
  return issues.map((issue) => ({
    path: [root, ...issue.path.map(String)].filter((s) => s !== '').join('.') || '(event)',
    message: issue.message,
  }));
}

function invalid(what: string, problems: Array<{ path: string; message: string }>, raw?: unknown): VigilError {
  const text = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  return new VigilError('EVENT_INVALID', `invalid ${what}: ${text}`, {
    retryable: false,
    details: {
      problems,
      ...(raw !== undefined && typeof raw === 'object' && raw !== null && 'id' in raw ? { id: (raw as { id: unknown }).id } : {}),
    },
  });
}

/** Validates an unknown value as a Vigil event (envelope, known type, data schema). */
export function parseEvent(raw: unknown): VigilEvent {
  const envelope = EventEnvelope.safeParse(raw);
  if (!envelope.success) throw invalid('event envelope', describeIssues(envelope.error.issues, ''), raw);
  const { type } = envelope.data;
  if (!isEventType(type)) {
    throw invalid('event', [{ path: 'type', message: `unknown event type "${type}"` }], raw);
  }
  const entry = catalog[type];
  if (envelope.data.version > entry.version) {
    throw invalid(
      `${type} event`,
      [{ path: 'version', message: `version ${envelope.data.version} is newer than this build understands (${entry.version})` }],
      raw,
    );
  }
  if (entry.incidentId === 'required' && envelope.data.incidentId === null) {
    throw invalid(`${type} event`, [{ path: 'incidentId', message: 'required for this event type' }], raw);
  }
  const data = entry.schema.safeParse(envelope.data.data);
  if (!data.success) throw invalid(`${type} event`, describeIssues(data.error.issues, 'data'), raw);
  return { ...envelope.data, type, data: data.data } as VigilEvent;
}

/** Parses bytes off the wire; bad JSON is EVENT_INVALID, like bad fields. */
export function decodeEvent(bytes: Uint8Array | string): VigilEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    throw new VigilError('EVENT_INVALID', `invalid event: not JSON (${(error as Error).message})`, {
      retryable: false,
      cause: error,
    });
  }
  return parseEvent(raw);
}

export function encodeEvent(event: VigilEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}
