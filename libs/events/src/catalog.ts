import type { z } from 'zod';
import { ApprovalDecided } from './schemas/approval-decided.js';
import { ApprovalRequested } from './schemas/approval-requested.js';
import { ContextRequested } from './schemas/context-requested.js';
import { ContextRetrieved } from './schemas/context-retrieved.js';
import { ExecutionCompleted } from './schemas/execution-completed.js';
import { ExecutionRequested } from './schemas/execution-requested.js';
import { HypothesisReceived } from './schemas/hypothesis-received.js';
import { IncidentAnnotated } from './schemas/incident-annotated.js';
import { IncidentEscalated } from './schemas/incident-escalated.js';
import { IncidentResolvedExternal } from './schemas/incident-resolved-external.js';
import { IncidentResolved } from './schemas/incident-resolved.js';
import { IncidentTriggered } from './schemas/incident-triggered.js';
import { InvestigationRequested } from './schemas/investigation-requested.js';
import { RemediationProposed } from './schemas/remediation-proposed.js';
import { RemediationRequested } from './schemas/remediation-requested.js';
import { VerificationCompleted } from './schemas/verification-completed.js';
import { VerificationRequested } from './schemas/verification-requested.js';

export type StreamKey = 'events' | 'deadletters';

interface CatalogEntry {
  readonly schema: z.ZodType;
  readonly version: number;
  readonly stream: StreamKey;
  /** Events from the edges arrive before the orchestrator has assigned an incident id. */
  readonly incidentId: 'required' | 'optional';
  /** The service(s) allowed to emit it; documentation and a check in tests. */
  readonly producers: readonly string[];
  readonly kind: 'event' | 'command';
}

/**
 * The one place that names every event: type → schema → version → stream. The subject of an
 * event is its type (under an optional prefix); nobody else spells a subject.
 */
export const catalog = {
  'incident.triggered': {
    schema: IncidentTriggered,
    version: 1,
    stream: 'events',
    incidentId: 'optional',
    producers: ['ingest'],
    kind: 'event',
  },
  'incident.annotated': {
    schema: IncidentAnnotated,
    version: 1,
    stream: 'events',
    incidentId: 'optional',
    producers: ['ingest'],
    kind: 'event',
  },
  'incident.resolved.external': {
    schema: IncidentResolvedExternal,
    version: 1,
    stream: 'events',
    incidentId: 'optional',
    producers: ['ingest'],
    kind: 'event',
  },
  'investigation.requested': {
    schema: InvestigationRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'hypothesis.received': {
    schema: HypothesisReceived,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['investigator'],
    kind: 'event',
  },
  'context.requested': {
    schema: ContextRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'context.retrieved': {
    schema: ContextRetrieved,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['memory'],
    kind: 'event',
  },
  'remediation.requested': {
    schema: RemediationRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'remediation.proposed': {
    schema: RemediationProposed,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['reasoner'],
    kind: 'event',
  },
  'approval.requested': {
    schema: ApprovalRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'approval.decided': {
    schema: ApprovalDecided,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['approver'],
    kind: 'event',
  },
  'execution.requested': {
    schema: ExecutionRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'execution.completed': {
    schema: ExecutionCompleted,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['executor'],
    kind: 'event',
  },
  'verification.requested': {
    schema: VerificationRequested,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'command',
  },
  'verification.completed': {
    schema: VerificationCompleted,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['verifier'],
    kind: 'event',
  },
  'incident.resolved': {
    schema: IncidentResolved,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'event',
  },
  'incident.escalated': {
    schema: IncidentEscalated,
    version: 1,
    stream: 'events',
    incidentId: 'required',
    producers: ['orchestrator'],
    kind: 'event',
  },
} as const satisfies Record<string, CatalogEntry>;

export type Catalog = typeof catalog;
export type EventType = keyof Catalog;
/** The data of an event type after parsing (defaults applied). */
export type EventData<T extends EventType> = z.output<Catalog[T]['schema']>;
/** The data a producer may pass (fields with defaults may be left out). */
export type EventDataInput<T extends EventType> = z.input<Catalog[T]['schema']>;

export const eventTypes = Object.keys(catalog) as EventType[];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(catalog, value);
}

/**
 * What a subject prefix may be: dot-separated tokens of lower-case letters, digits and `_`.
 * Lower case only and no `-`, so that the stream name derived from it (`.` → `-`, upper-cased)
 * is unique: two tenants can never share a stream.
 */
export const PREFIX_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
export const PREFIX_RULE = 'dot-separated tokens of lower-case letters, digits and _';

/** A subject prefix keeps tenants (and parallel tests) apart on one NATS account. */
export function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  if (!PREFIX_PATTERN.test(prefix)) throw new Error(`subject prefix "${prefix}" must be ${PREFIX_RULE}`);
  return prefix;
}

/** The NATS subject an event type is published on. */
export function subjectFor(type: EventType, prefix?: string): string {
  const p = normalisePrefix(prefix);
  return p === '' ? type : `${p}.${type}`;
}

/** The event type a subject carries, or undefined if the subject is not one of ours. */
export function typeOfSubject(subject: string, prefix?: string): EventType | undefined {
  const p = normalisePrefix(prefix);
  const bare = p === '' ? subject : subject.startsWith(`${p}.`) ? subject.slice(p.length + 1) : undefined;
  return isEventType(bare) ? bare : undefined;
}

/** Subjects where a consumer's poison messages are parked, with the error that stopped them. */
export function deadLetterSubject(consumer: string, prefix?: string): string {
  const p = normalisePrefix(prefix);
  const tail = `deadletter.${consumer}`;
  return p === '' ? tail : `${p}.${tail}`;
}

/** Every subject a stream holds. */
export function streamSubjects(stream: StreamKey, prefix?: string): string[] {
  if (stream === 'deadletters') return [deadLetterSubject('*', prefix)];
  return eventTypes.filter((t) => catalog[t].stream === stream).map((t) => subjectFor(t, prefix));
}

/** JetStream stream name: `VIGIL_EVENTS`, or `ACME-EU_VIGIL_EVENTS` under prefix `acme.eu`. */
export function streamName(stream: StreamKey, prefix?: string): string {
  const p = normalisePrefix(prefix).replace(/\./g, '-').toUpperCase();
  const base = stream === 'events' ? 'VIGIL_EVENTS' : 'VIGIL_DEADLETTERS';
  return p === '' ? base : `${p}_${base}`;
}
