import { describe, expect, it } from 'vitest';
import { bestPassage, relevance, roundScore, termsOf, trimPassage } from './text.js';

describe('knowledge text', () => {
  it('takes the distinct stemmed words of a query, stop words left out', () => {
    expect(termsOf('The transaction holds locks; requests are waiting on the locked rows')).toEqual([
      'transaction',
      'hold',
      'lock',
      'request',
      'wait',
      'row',
    ]);
    expect(termsOf('')).toEqual([]);
  });

  it('scores on the local scale: coverage, alert name, service', () => {
    const terms = termsOf('row lock on orders');
    const doc = { text: 'A row lock held on the orders table', alerts: ['HighLatency'], services: ['payment-api'] };
    expect(relevance({ terms, service: 'payment-api', alertName: 'highlatency' }, doc)).toBe(1);
    expect(relevance({ terms, service: 'payment-api' }, doc)).toBe(0.65);
    expect(relevance({ terms, service: 'billing' }, doc)).toBe(0.45);
    expect(relevance({ terms: termsOf('disk full') }, { ...doc, services: [] })).toBe(0.1);
    expect(relevance({ terms: [] }, doc)).toBe(0);
  });

  it('keeps every score in [0, 1] with three decimals', () => {
    expect(roundScore(1.7)).toBe(1);
    expect(roundScore(-2)).toBe(0);
    expect(roundScore(Number.NaN)).toBe(0);
    expect(roundScore(0.12345)).toBe(0.123);
  });

  it('trims passages at a word, with an ellipsis, whitespace collapsed', () => {
    expect(trimPassage('  one\n\n two   three ')).toBe('one two three');
    const long = trimPassage('word '.repeat(300), 100);
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long.endsWith('word…')).toBe(true);
  });

  it('quotes the paragraph that holds most of the query', () => {
    const body = 'Overview of the service.\n\nA row lock on orders makes checkout wait.\n\nRestart nothing.';
    expect(bestPassage(body, termsOf('checkout waits on a row lock'))).toBe('A row lock on orders makes checkout wait.');
    expect(bestPassage(body, [])).toBe('Overview of the service.');
    expect(bestPassage('', ['lock'])).toBe('');
  });
});
