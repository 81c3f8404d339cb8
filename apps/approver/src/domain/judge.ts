import type { Risk } from '@vigil/events';
import { isApprover, isRequester, type Person } from './policy.js';

export type Via = 'slack' | 'web' | 'cli';
export type RequestState = 'pending' | 'approved' | 'denied' | 'expired' | 'superseded';

/** One person's counted say on a request. */
export interface Vote {
  person: Person;
  vote: 'approve' | 'deny';
  via: Via;
  reason?: string;
  at: string;
}

/** What the rules need to know of a request. */
export interface Ballot {
  service: string;
  risk: Risk;
  requiredApprovals: number;
  requestedBy: string;
  expiresAt: Date;
  state: RequestState;
  votes: readonly Vote[];
}

export type Refusal = 'ALREADY_DECIDED' | 'EXPIRED' | 'NOT_AUTHORISED' | 'SUPERSEDED';

export type Judgement =
  /** The click or call changes nothing, and the person is told why. */
  | { kind: 'refused'; code: Refusal; message: string }
  /** The request ran out before this vote: it is settled as expired now. */
  | { kind: 'expire'; message: string }
  /** The same person said the same thing again (a double click): counted once. */
  | { kind: 'duplicate'; message: string }
  /** Counted; more approvals are needed. */
  | { kind: 'counted'; vote: Vote; message: string }
  | { kind: 'decided'; vote: Vote; decision: 'approved' | 'denied'; decidedBy: Person[]; reason?: string; message: string };

/** Distinct approvals a request needs: what it asks for, and never fewer than two for CRITICAL. */
export function approvalsNeeded(ballot: Pick<Ballot, 'risk' | 'requiredApprovals'>): number {
  return Math.max(ballot.requiredApprovals, ballot.risk === 'CRITICAL' ? 2 : 1);
}

const who = (person: Person): string => person.name ?? person.id;

/**
 * The rules of a decision, in order: a settled request stays settled; a request past its expiry
 * expires (expiry is escalation, never approval); only the approvers configured for the service
 * and risk may decide; one denial denies; approval needs `approvalsNeeded` distinct people, at
 * least one of whom is not the requester; a person's repeated approval counts once.
 */
export function judge(ballot: Ballot, vote: Vote, approvers: readonly string[], now: Date): Judgement {
  if (ballot.state === 'superseded') {
    return { kind: 'refused', code: 'SUPERSEDED', message: 'a newer plan replaced this one; decide on the newer request' };
  }
  if (ballot.state !== 'pending') {
    return { kind: 'refused', code: ballot.state === 'expired' ? 'EXPIRED' : 'ALREADY_DECIDED', message: settledMessage(ballot) };
  }
  if (now.getTime() >= ballot.expiresAt.getTime()) {
    return { kind: 'expire', message: `the request expired at ${ballot.expiresAt.toISOString()}; it is escalated, nothing will run` };
  }
  if (!isApprover(approvers, vote.person)) {
    return {
      kind: 'refused',
      code: 'NOT_AUTHORISED',
      message: `${who(vote.person)} is not an approver for ${ballot.service} at risk ${ballot.risk}`,
    };
  }
  if (vote.vote === 'deny') {
    return {
      kind: 'decided',
      vote,
      decision: 'denied',
      decidedBy: [vote.person],
      ...(vote.reason ? { reason: vote.reason } : {}),
      message: `denied by ${who(vote.person)}`,
    };
  }
  const approvals = ballot.votes.filter((v) => v.vote === 'approve');
  if (approvals.some((v) => v.person.id === vote.person.id)) {
    return { kind: 'duplicate', message: `${who(vote.person)} has already approved; a person counts once` };
  }
  const approving = [...approvals, vote];
  const needed = approvalsNeeded(ballot);
  const hasOther = approving.some((v) => !isRequester(ballot.requestedBy, v.person));
  if (approving.length >= needed && hasOther) {
    const reasons = approving.map((v) => v.reason).filter((r): r is string => Boolean(r));
    return {
      kind: 'decided',
      vote,
      decision: 'approved',
      decidedBy: approving.map((v) => v.person),
      ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
      message: `approved by ${approving.map((v) => who(v.person)).join(' and ')}`,
    };
  }
  const waiting =
    approving.length >= needed
      ? 'another approver: the requester of a change cannot approve it alone'
      : `${needed - approving.length} more distinct approver${needed - approving.length > 1 ? 's' : ''}`;
  return {
    kind: 'counted',
    vote,
    message: `${approving.length} of ${needed} approvals (${approving.map((v) => who(v.person)).join(', ')}); waiting for ${waiting}`,
  };
}

function settledMessage(ballot: Ballot): string {
  if (ballot.state === 'expired') return `the request expired at ${ballot.expiresAt.toISOString()}; it was escalated, nothing will run`;
  return `the request was already ${ballot.state}; this decision was not counted`;
}
