import type { VigilEvent } from '@vigil/events';

/** The decision events that become notes on the PagerDuty incident. */
export const noteTypes = [
  'hypothesis.received',
  'remediation.proposed',
  'approval.decided',
  'execution.completed',
  'verification.completed',
  'incident.escalated',
  'incident.resolved',
] as const;
export type NoteType = (typeof noteTypes)[number];

/** PagerDuty accepts long notes, but a note is read on a phone: keep it short. */
const maxNoteChars = 1000;
const pct = (score: number): string => `${Math.round(score * 100)}%`;

/**
 * Plain-text note for one decision. Content comes from events whose producers already redacted
 * it; nothing here adds configuration or credentials.
 */
export function formatNote(event: VigilEvent<NoteType>): string {
  return clip(`[Vigil] ${body(event)}`);
}

function body(event: VigilEvent<NoteType>): string {
  switch (event.type) {
    case 'hypothesis.received': {
      const h = event.data.hypothesis;
      return `Hypothesis (${h.origin}, confidence ${pct(h.confidence)}): ${h.rootCause}`;
    }
    case 'remediation.proposed': {
      const d = event.data;
      if (d.outcome === 'no_plan') return `No plan: ${d.reason}`;
      const steps = d.plan.steps.map((s, i) => `${i + 1}. ${s.kind === 'action' ? s.action : `${s.language} script`} (${s.id})`);
      const flags = d.flags.length > 0 ? `; flags: ${d.flags.join(', ')}` : '';
      return `Plan (confidence ${pct(d.plan.confidence)}, risk ${d.plan.risk}${flags}):\n${steps.join('\n')}`;
    }
    case 'approval.decided': {
      const d = event.data;
      const who = d.decidedBy.map((p) => p.name ?? p.id).join(', ') || d.via;
      return `Approval ${d.decision} by ${who} via ${d.via}${d.reason ? `: ${d.reason}` : ''}`;
    }
    case 'execution.completed': {
      const d = event.data;
      return `Execution of step ${d.stepId}${d.mode === 'run' ? '' : ` (${d.mode})`} ${d.status}: ${d.summary}`;
    }
    case 'verification.completed': {
      const d = event.data;
      return `Verification (${d.mode}) ${d.passed ? 'passed' : 'failed'}: pass ratio ${pct(d.passRatio)} over ${d.rounds} rounds`;
    }
    case 'incident.escalated':
      return `Escalated to a human (${event.data.reason}, stage ${event.data.stage}): ${event.data.message}`;
    case 'incident.resolved': {
      const d = event.data;
      const proof = d.verification?.proof ? `; proof pass ratio ${pct(d.verification.proof.passRatio)}` : '';
      return `Resolved (${d.how}) after ${Math.round(d.mttrMs / 1000)} s${proof}`;
    }
  }
}

function clip(text: string): string {
  return text.length <= maxNoteChars ? text : `${text.slice(0, maxNoteChars - 1)}…`;
}
