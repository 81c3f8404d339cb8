import { describe, expect, it } from 'vitest';
import { approversFor, parsePolicy, personById, personFromSlack } from './policy.js';

const yaml = `
people:
  ana: { name: Ana Lima, slack: U024BE7LH }
  ben: { slack: U0BEN }
approvers:
  payment-api:
    LOW: [ana, ben]
    CRITICAL: [ana, ben, U0CLEO]
    default: [ana]
  '*':
    default: [ben]
`;

describe('approver policy', () => {
  const policy = parsePolicy(yaml);

  it('lists approvers by service and risk, with the service default, then the * entry', () => {
    expect(approversFor(policy, 'payment-api', 'LOW')).toEqual(['ana', 'ben']);
    expect(approversFor(policy, 'payment-api', 'HIGH')).toEqual(['ana']);
    expect(approversFor(policy, 'checkout', 'CRITICAL')).toEqual(['ben']);
    expect(approversFor(parsePolicy('{}'), 'payment-api', 'LOW')).toEqual([]);
  });

  it('maps Slack users to people, and keeps unknown Slack users as themselves', () => {
    expect(personFromSlack(policy, { id: 'U024BE7LH', name: 'ana.l' })).toEqual({ id: 'ana', name: 'Ana Lima', slackUserId: 'U024BE7LH' });
    expect(personFromSlack(policy, { id: 'U0CLEO', name: 'cleo' })).toEqual({ id: 'U0CLEO', name: 'cleo', slackUserId: 'U0CLEO' });
    expect(personById(policy, 'ben')).toEqual({ id: 'ben', name: 'ben', slackUserId: 'U0BEN' });
  });

  it('reads JSON as well', () => {
    expect(approversFor(parsePolicy('{"approvers":{"x":{"LOW":["a"]}}}'), 'x', 'LOW')).toEqual(['a']);
  });

  it('names what is wrong', () => {
    expect(() => parsePolicy('approvers:\n  x:\n    URGENT: [a]\n')).toThrow(/approvers\.x.*URGENT/);
    expect(() => parsePolicy('people:\n  a: { slack: nope }\n')).toThrow(/people\.a\.slack: a Slack user id/);
    expect(() => parsePolicy('approvers: [a]\n')).toThrow(/approvers/);
    expect(() => parsePolicy('extra: 1\n')).toThrow(/extra|unrecognized/i);
    expect(() => parsePolicy('people:\n  a: { slack: U1 }\n  b: { slack: U1 }\n')).toThrow(/people\.b\.slack: Slack user U1 is already a/);
    expect(() => parsePolicy('{ not yaml: [')).toThrow(/not YAML or JSON/);
  });
});
