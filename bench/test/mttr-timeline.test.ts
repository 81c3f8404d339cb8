import { describe, expect, it } from 'vitest';
import { stagesOf, type TimelineEntry } from '../mttr-timeline.js';

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const command = (s: number, eventType: string, data: Record<string, unknown> = {}): TimelineEntry => ({
  at: at(s),
  kind: 'command',
  summary: eventType,
  eventType,
  data,
});
const event = (s: number, eventType: string): TimelineEntry => ({ at: at(s), kind: 'event', summary: eventType, eventType, data: {} });
const stage = (s: number, name: string): TimelineEntry => ({ at: at(s), kind: 'stage', summary: name, eventType: null, data: {} });

describe('stagesOf', () => {
  it('pairs each command with the first later answer of its kind and names verifications by mode', () => {
    const timeline = [
      event(0, 'incident.triggered'),
      stage(0, 'INVESTIGATING'),
      command(0, 'investigation.requested'),
      event(2, 'hypothesis.received'),
      command(2, 'context.requested'),
      event(3, 'context.retrieved'),
      command(3, 'remediation.requested'),
      event(4, 'remediation.proposed'),
      command(4, 'approval.requested'),
      event(10, 'approval.decided'),
      command(10, 'verification.requested', { mode: 'baseline' }),
      event(15, 'verification.completed'),
      command(15, 'execution.requested'),
      event(16, 'execution.completed'),
      command(16, 'verification.requested', { mode: 'proof' }),
      event(26, 'verification.completed'),
      stage(26, 'RESOLVED'),
    ];
    expect(stagesOf(timeline)).toEqual([
      { name: 'investigation', ms: 2000 },
      { name: 'context', ms: 1000 },
      { name: 'remediation', ms: 1000 },
      { name: 'approval', ms: 6000 },
      { name: 'baseline', ms: 5000 },
      { name: 'action', ms: 1000 },
      { name: 'proof', ms: 10000 },
    ]);
  });

  it('leaves out a command that was never answered (the incident escalated first)', () => {
    const timeline = [command(0, 'investigation.requested'), event(1, 'hypothesis.received'), command(1, 'context.requested')];
    expect(stagesOf(timeline)).toEqual([{ name: 'investigation', ms: 1000 }]);
  });
});
