import { describe, expect, it } from 'vitest';
import { identifierWords, withIdentifierWords } from './search-text.js';

describe('search text', () => {
  it.each([
    ['KubePodCrashLooping', 'Kube Pod Crash Looping'],
    ['PostgreSQLHighLockWaits', 'Postgre SQL High Lock Waits'],
    ['OOMKilled', 'OOM Killed'],
    ['postgresql.percent_usage_connections', 'postgresql percent usage connections'],
    ['kube_deployment:shipping-service', 'kube deployment shipping service'],
    ['x509', 'x509'],
  ])('splits the identifier %s into its words', (identifier, words) => {
    expect(identifierWords(identifier)).toBe(words);
  });

  it('appends the words of compound identifiers once, keeping the text as it was', () => {
    const text = 'OOMKilled twice; OOMKilled again on kube_deployment:api';
    expect(withIdentifierWords(text)).toBe(`${text}\nOOM Killed kube deployment api`);
  });

  it('leaves plain prose alone', () => {
    expect(withIdentifierWords('A row lock blocks checkout requests.')).toBe('A row lock blocks checkout requests.');
  });
});
