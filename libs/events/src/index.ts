export * from './schemas/common.js';
export { IncidentTriggered } from './schemas/incident-triggered.js';
export { IncidentAnnotated } from './schemas/incident-annotated.js';
export { IncidentResolvedExternal } from './schemas/incident-resolved-external.js';
export { InvestigationRequested } from './schemas/investigation-requested.js';
export { HypothesisReceived } from './schemas/hypothesis-received.js';
export { ContextRequested } from './schemas/context-requested.js';
export { ContextRetrieved } from './schemas/context-retrieved.js';
export { RemediationRequested } from './schemas/remediation-requested.js';
export { RemediationProposed, EdgeCaseFlag } from './schemas/remediation-proposed.js';
export { ApprovalRequested } from './schemas/approval-requested.js';
export { ApprovalDecided } from './schemas/approval-decided.js';
export { ExecutionRequested } from './schemas/execution-requested.js';
export { ExecutionCompleted } from './schemas/execution-completed.js';
export { VerificationRequested } from './schemas/verification-requested.js';
export { VerificationCompleted } from './schemas/verification-completed.js';
export { IncidentResolved, VerificationSummary } from './schemas/incident-resolved.js';
export { IncidentEscalated, EscalationReason } from './schemas/incident-escalated.js';
export {
  catalog,
  eventTypes,
  isEventType,
  subjectFor,
  typeOfSubject,
  deadLetterSubject,
  streamSubjects,
  streamName,
  normalisePrefix,
  PREFIX_PATTERN,
  PREFIX_RULE,
  type EventType,
  type EventData,
  type EventDataInput,
  type StreamKey,
  type Catalog,
} from './catalog.js';
export { EventEnvelope, createEvent, parseEvent, decodeEvent, encodeEvent, type VigilEvent, type EventMeta } from './envelope.js';
export { uuidv7, uuidv7Time, deterministicUuidv7 } from './uuidv7.js';
export { exampleData } from './examples.js';
