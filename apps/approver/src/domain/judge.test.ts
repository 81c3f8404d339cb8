import { describe, expect, it } from 'vitest';
import { approvalsNeeded, judge, type Ballot, type Vote } from './judge.js';

const now = new Date('2026-11-22T10:05:00.000Z');
const ballot = (over: Partial<Ballot> = {}): Ballot => ({
  service: 'payment-api',
  risk: 'MEDIUM',
  requiredApprovals: 1,
  requestedBy: 'vigil',
  expiresAt: new Date('2026-11-22T10:15:00.000Z'),
  state: 'pending',
  votes: [],
  ...over,
});
const ana = { id: 'ana', name: 'Ana', slackUserId: 'U0ANA' };
const ben = { id: 'ben', name: 'Ben' };
const cleo = { id: 'cleo' };
const vote = (person: Vote['person'], what: Vote['vote'] = 'approve', reason?: string): Vote => ({
  person,
  vote: what,
  via: 'web',
  at: now.toISOString(),
  ...(reason ? { reason } : {}),
});
const approvers = ['ana', 'ben'];

describe('judge', () => {
  it('one approval from a configured approver decides a request that needs one', () => {
    const j = judge(ballot(), vote(ana, 'approve', 'looks right'), approvers, now);
    expect(j).toMatchObject({ kind: 'decided', decision: 'approved', decidedBy: [ana], reason: 'looks right' });
  });

  it('an approver is recognised by person id or by Slack user id', () => {
    expect(judge(ballot(), vote(ana), ['U0ANA'], now).kind).toBe('decided');
    expect(judge(ballot(), vote({ id: 'U0ANA', slackUserId: 'U0ANA' }), ['U0ANA'], now).kind).toBe('decided');
  });

  it('someone not configured for the service and risk is refused, whatever they vote', () => {
    for (const what of ['approve', 'deny'] as const) {
      expect(judge(ballot(), vote(cleo, what), approvers, now)).toMatchObject({ kind: 'refused', code: 'NOT_AUTHORISED' });
    }
    expect(judge(ballot(), vote(ana), [], now)).toMatchObject({ kind: 'refused', code: 'NOT_AUTHORISED' });
  });

  it('one denial denies, with its reason', () => {
    const j = judge(ballot({ votes: [vote(ben)], risk: 'CRITICAL' }), vote(ana, 'deny', 'wrong pid'), approvers, now);
    expect(j).toMatchObject({ kind: 'decided', decision: 'denied', decidedBy: [ana], reason: 'wrong pid' });
  });

  it('CRITICAL needs two distinct approvers, and a double click counts once', () => {
    const critical = ballot({ risk: 'CRITICAL' });
    const first = judge(critical, vote(ana), approvers, now);
    expect(first).toMatchObject({ kind: 'counted' });
    expect(first.message).toContain('1 of 2');
    expect(judge({ ...critical, votes: [vote(ana)] }, vote(ana), approvers, now).kind).toBe('duplicate');
    const second = judge({ ...critical, votes: [vote(ana)] }, vote(ben), approvers, now);
    expect(second).toMatchObject({ kind: 'decided', decision: 'approved', decidedBy: [ana, ben] });
  });

  it('requiredApprovals above one is honoured at any risk, and never lowered below two for CRITICAL', () => {
    expect(approvalsNeeded({ risk: 'LOW', requiredApprovals: 3 })).toBe(3);
    expect(approvalsNeeded({ risk: 'CRITICAL', requiredApprovals: 1 })).toBe(2);
    expect(approvalsNeeded({ risk: 'HIGH', requiredApprovals: 1 })).toBe(1);
    expect(judge(ballot({ requiredApprovals: 2 }), vote(ana), approvers, now).kind).toBe('counted');
  });

  it('the requester cannot approve their own change alone, by person or Slack id', () => {
    for (const requestedBy of ['ana', 'U0ANA']) {
      const own = ballot({ requestedBy });
      const alone = judge(own, vote(ana), approvers, now);
      expect(alone).toMatchObject({ kind: 'counted' });
      expect(alone.message).toContain('cannot approve it alone');
      expect(judge({ ...own, votes: [vote(ana)] }, vote(ben), approvers, now)).toMatchObject({
        kind: 'decided',
        decision: 'approved',
        decidedBy: [ana, ben],
      });
    }
    // …but may deny it.
    expect(judge(ballot({ requestedBy: 'ana' }), vote(ana, 'deny'), approvers, now)).toMatchObject({ decision: 'denied' });
  });

  it('at or after expiry a vote expires the request instead of counting', () => {
    const late = new Date('2026-11-22T10:15:00.000Z');
    expect(judge(ballot(), vote(ana), approvers, late).kind).toBe('expire');
    expect(judge(ballot(), vote(ana, 'deny'), approvers, late).kind).toBe('expire');
  });

  it('a settled request stays settled', () => {
    expect(judge(ballot({ state: 'approved' }), vote(ben, 'deny'), approvers, now)).toMatchObject({
      kind: 'refused',
      code: 'ALREADY_DECIDED',
    });
    expect(judge(ballot({ state: 'denied' }), vote(ana), approvers, now)).toMatchObject({ kind: 'refused', code: 'ALREADY_DECIDED' });
    expect(judge(ballot({ state: 'expired' }), vote(ana), approvers, now)).toMatchObject({ kind: 'refused', code: 'EXPIRED' });
    expect(judge(ballot({ state: 'superseded' }), vote(ana), approvers, now)).toMatchObject({ kind: 'refused', code: 'SUPERSEDED' });
  });
});
