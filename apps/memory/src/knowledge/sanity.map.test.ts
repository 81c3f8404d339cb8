import { describe, expect, it } from 'vitest';
import { mapSanityRunbook, SanityRunbook, sanityRunbookQuery } from './sanity.map.js';

const doc = (fields: Record<string, unknown>) =>
  SanityRunbook.parse({
    _id: 'rb-1',
    _type: 'runbook',
    title: null,
    slug: null,
    body: null,
    services: null,
    alerts: null,
    symptoms: null,
    tags: null,
    remedy: null,
    ...fields,
  });
const query = { query: 'row lock on orders', service: 'payment-api', alertName: 'HighLatency' };

describe('Sanity runbooks as matches', () => {
  it('reads only parameters, never spliced values, in its GROQ', () => {
    for (const param of ['$type', '$text', '$service', '$alertName', '$limit']) expect(sanityRunbookQuery).toContain(param);
    expect(sanityRunbookQuery).not.toMatch(/\$\{/);
  });

  it('cites the slug (a local runbook id) before the _id, and scores on the local scale', () => {
    const { match } = mapSanityRunbook(
      doc({
        title: 'Orders lock',
        slug: 'pg-lock-contention',
        body: 'A row lock on orders.',
        services: ['payment-api'],
        alerts: ['HighLatency'],
      }),
      query,
      'https://studio/x',
    );
    expect(match).toEqual({
      citation: { documentId: 'pg-lock-contention', kind: 'runbook', title: 'Orders lock', uri: 'https://studio/x' },
      score: 1,
      passage: 'A row lock on orders.',
      standing: 'runbook',
    });
  });

  it('copes with a document that lacks most fields', () => {
    const { match } = mapSanityRunbook(doc({}), query, undefined);
    expect(match.citation).toEqual({ documentId: 'rb-1', kind: 'runbook', title: 'rb-1' });
    expect(match.passage).toBe('');
    expect(match.score).toBe(0.1);
  });

  it('keeps a remedy that validates and drops one that does not, saying why', () => {
    const valid = { risk: 'LOW', steps: [{ action: 'postgres.cancel_backend', params: { pid: '{{evidence.blocker_pid}}' } }] };
    expect(mapSanityRunbook(doc({ remedy: valid }), query, undefined).match.remedy).toEqual({
      risk: 'LOW',
      steps: [{ action: 'postgres.cancel_backend', params: { pid: '{{evidence.blocker_pid}}' }, reasoning: '' }],
      checks: [],
    });
    const invalid = mapSanityRunbook(doc({ remedy: { risk: 'LOW', steps: [{ action: 'rm -rf /' }] } }), query, undefined);
    expect(invalid.match.remedy).toBeUndefined();
    expect(invalid.remedyProblem).toContain('steps.0.action');
    expect(mapSanityRunbook(doc({ remedy: 'restart it' }), query, undefined).remedyProblem).toBeDefined();
  });
});
