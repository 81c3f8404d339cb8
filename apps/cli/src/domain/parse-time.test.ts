import { describe, expect, it } from 'vitest';
import { parseSince } from './parse-time.js';

describe('parseSince', () => {
  const now = new Date('2026-11-22T12:00:00.000Z');
  it.each([
    ['90s', '2026-11-22T11:58:30.000Z'],
    ['15m', '2026-11-22T11:45:00.000Z'],
    ['2h', '2026-11-22T10:00:00.000Z'],
    ['1d', '2026-11-21T12:00:00.000Z'],
    ['1w', '2026-11-15T12:00:00.000Z'],
    ['2026-11-22T10:00:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22', '2026-11-22T00:00:00.000Z'],
  ])('%s', (text, expected) => {
    expect(parseSince(text, now)?.toISOString()).toBe(expected);
  });

  it.each(['yesterday', '10 minutes', '-5m', '2026-13-45', ''])('rejects %j', (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});
