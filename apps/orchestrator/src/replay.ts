import type { TimelineEntry } from '@vigil/audit';
import type { SafetyCheck } from '@vigil/policy';
import type { Incident } from './domain/incident.js';
import { describeInput, type SagaInput } from './domain/inputs.js';
import type { SagaConfig, SagaFacts } from './domain/saga-config.js';
import { transition } from './domain/saga.js';

export interface ReplayOutcome {
  stages: string[];
  commands: string[];
  decisions: string[];
}

export interface ReplayStep {
  at: string;
  input: string;
  recorded: ReplayOutcome;
  replayed: ReplayOutcome;
  same: boolean;
}

export interface ReplayReport {
  incidentId: string;
  steps: ReplayStep[];
  differences: number;
  finalStage: { recorded: string; replayed: string };
}

function outcomeOf(entries: ReadonlyArray<{ kind: string; summary: string; eventType?: string | null }>): ReplayOutcome {
  return {
    stages: entries.filter((e) => e.kind === 'stage').map((e) => e.summary),
    commands: entries.filter((e) => e.kind === 'command').map((e) => e.eventType ?? e.summary),
    decisions: entries.filter((e) => e.kind === 'decision' || e.kind === 'ignored').map((e) => e.summary),
  };
}

const sameOutcome = (a: ReplayOutcome, b: ReplayOutcome): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Re-runs the transition function over an incident's recorded inputs — with no side effects —
 * and sets the decisions it makes now beside the recorded ones. With a changed configuration or
 * policy, this shows what the change would have done to real history.
 */
export function replayTimeline(
  incidentId: string,
  timeline: readonly TimelineEntry[],
  config: SagaConfig,
  safety: SafetyCheck,
): ReplayReport {
  const steps: ReplayStep[] = [];
  let incident: Incident | null = null;
  let recordedStage = 'TRIGGERED';
  for (let i = 0; i < timeline.length; i++) {
    const entry = timeline[i] as TimelineEntry;
    if (entry.kind !== 'event') continue;
    const recordedEntries: TimelineEntry[] = [];
    for (const later of timeline.slice(i + 1)) {
      if (later.kind === 'event') break;
      recordedEntries.push(later);
    }
    const { input, facts } = entry.data as { input: SagaInput; facts: SagaFacts };
    const result = transition(incident, input, { now: new Date(entry.at), config, facts, safety, newIncidentId: () => incidentId });
    if (result.incident) incident = { ...result.incident, version: result.incident.version + 1 };
    const recorded = outcomeOf(recordedEntries);
    const replayed = outcomeOf(result.timeline.slice(1));
    recordedStage = recorded.stages.at(-1)?.split(' ')[0] ?? recordedStage;
    steps.push({ at: entry.at, input: describeInput(input), recorded, replayed, same: sameOutcome(recorded, replayed) });
  }
  return {
    incidentId,
    steps,
    differences: steps.filter((s) => !s.same).length,
    finalStage: { recorded: recordedStage, replayed: incident?.stage ?? 'none' },
  };
}
