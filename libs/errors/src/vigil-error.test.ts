import { describe, expect, it } from 'vitest';
import { VigilError, isVigilError, toVigilError } from './index.js';

describe('VigilError', () => {
  it('carries code, retryability, hint and cause', () => {
    const cause = new Error('socket hang up');
    const error = new VigilError('LLM_RATE_LIMITED', 'rate limited', {
      retryable: true,
      retryAfterMs: 2000,
      cause,
    });
    expect(error.code).toBe('LLM_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.cause).toBe(cause);
    expect(isVigilError(error, 'LLM_RATE_LIMITED')).toBe(true);
    expect(isVigilError(error, 'OTHER')).toBe(false);
    expect(error.toJSON()).toEqual({
      code: 'LLM_RATE_LIMITED',
      message: 'rate limited',
      retryable: true,
      retryAfterMs: 2000,
    });
  });

  it('defaults to not retryable', () => {
    expect(new VigilError('X', 'x').retryable).toBe(false);
  });

  it('wraps foreign errors as retryable unknowns and keeps VigilErrors as they are', () => {
    const wrapped = toVigilError(new TypeError('boom'));
    expect(wrapped.code).toBe('UNEXPECTED');
    expect(wrapped.retryable).toBe(true);
    expect(wrapped.message).toBe('boom');
    const original = new VigilError('A', 'a');
    expect(toVigilError(original)).toBe(original);
    expect(toVigilError('text').message).toBe('text');
  });
});
