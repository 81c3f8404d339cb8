/** Stage durations of one incident, read from its timeline (`GET /incidents/:id`). */

export interface TimelineEntry {
  at: string;
  kind: string;
  summary: string;
  eventType: string | null;
  data: Record<string, unknown>;
}

/** Each command and the event that answers it, so that a stage's time is answer − command. */
const ANSWERS: Record<string, string> = {
  'investigation.requested': 'hypothesis.received',
  'context.requested': 'context.retrieved',
  'remediation.requested': 'remediation.proposed',
  'approval.requested': 'approval.decided',
  'verification.requested': 'verification.completed',
  'execution.requested': 'execution.completed',
};

/** Time the engine spends waiting by design or on someone else: not the engine's own work. */
export const WAITS: ReadonlySet<string> = new Set(['baseline', 'action', 'proof', 'approval']);

export interface Stage {
  name: string;
  ms: number;
}

/** Stage durations from a timeline: each command paired with the first later answer of its kind. */
export function stagesOf(timeline: TimelineEntry[]): Stage[] {
  const stages: Stage[] = [];
  timeline.forEach((entry, i) => {
    const answer = entry.kind === 'command' && entry.eventType ? ANSWERS[entry.eventType] : undefined;
    if (!answer) return;
    const reply = timeline.slice(i + 1).find((e) => e.kind === 'event' && e.eventType === answer);
    if (!reply) return;
    const name =
      entry.eventType === 'verification.requested'
        ? String(entry.data['mode'] ?? 'verification')
        : entry.eventType === 'execution.requested'
          ? 'action'
          : entry.eventType === 'approval.requested'
            ? 'approval'
            : (entry.eventType?.split('.')[0] ?? 'stage');
    stages.push({ name, ms: Date.parse(reply.at) - Date.parse(entry.at) });
  });
  return stages;
}
