import type { VigilEvent } from '@vigil/events';
import type { Stage } from './incident.js';

/** What drives the saga: an event from the bus, a deadline that passed, or a person. */
export type SagaInput =
  | { kind: 'event'; event: VigilEvent }
  | { kind: 'deadline'; incidentId: string; stage: Stage; dueAt: string }
  | { kind: 'escalate'; incidentId: string; by: string; reason: string };

export function describeInput(input: SagaInput): string {
  switch (input.kind) {
    case 'event':
      return input.event.type;
    case 'deadline':
      return `deadline of ${input.stage}`;
    case 'escalate':
      return `manual escalation by ${input.by}`;
  }
}
