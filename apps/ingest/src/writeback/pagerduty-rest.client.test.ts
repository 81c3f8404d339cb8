import { describe, expect, it } from 'vitest';
import { retryAfter } from './pagerduty-rest.client.js';

describe('retryAfter', () => {
  it('reads Retry-After in seconds, then as an HTTP date, then falls back to ratelimit-reset', () => {
    expect(retryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(retryAfter(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 10:00:07 GMT' }), now)).toBe(7000);
    expect(retryAfter(new Headers({ 'ratelimit-reset': '20' }))).toBe(20_000);
    expect(retryAfter(new Headers({ 'retry-after': '2', 'ratelimit-reset': '20' }))).toBe(2000);
  });

  it('is undefined when neither header says anything usable', () => {
    expect(retryAfter(new Headers())).toBeUndefined();
    expect(retryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});
