import { describe, expect, it } from 'vitest';
import { entryHash, GENESIS_HASH, verifyChain, type TimelineEntry } from './chain.js';

function chain(summaries: string[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let prev = GENESIS_HASH;
  summaries.forEach((summary, i) => {
    const base = {
      incidentId: 'inc-1',
      seq: i + 1,
      at: '2026-11-22T10:00:00.000Z',
      kind: 'note',
      summary,
      eventId: null,
      eventType: null,
      data: { n: i },
      prevHash: prev,
    };
    const hash = entryHash(base);
    out.push({ ...base, hash });
    prev = hash;
  });
  return out;
}

describe('the timeline chain', () => {
  it('verifies an untouched chain', () => {
    expect(verifyChain(chain(['a', 'b', 'c']))).toEqual({ valid: true, entries: 3 });
    expect(verifyChain([])).toEqual({ valid: true, entries: 0 });
  });

  it('finds an edited entry, a removed entry and a re-ordered chain', () => {
    const edited = chain(['a', 'b', 'c']);
    edited[1] = { ...edited[1]!, summary: 'B' };
    expect(verifyChain(edited)).toMatchObject({ valid: false, brokenAt: { seq: 2, problem: 'its content does not match its hash' } });
    const removed = chain(['a', 'b', 'c']).filter((e) => e.seq !== 2);
    expect(verifyChain(removed)).toMatchObject({ valid: false, brokenAt: { seq: 3 } });
    const rehashed = chain(['a', 'b', 'c']);
    const { hash: _old, ...first } = rehashed[0]!;
    rehashed[0] = { ...first, summary: 'A', hash: entryHash({ ...first, summary: 'A' }) };
    expect(verifyChain(rehashed)).toMatchObject({ valid: false, brokenAt: { seq: 2, problem: 'does not link to the entry before' } });
  });

  it('given the head recorded apart from it, a cut-off tail shows', () => {
    const full = chain(['a', 'b', 'c']);
    const head = { seq: 3, hash: full[2]!.hash };
    expect(verifyChain(full, head).valid).toBe(true);
    expect(verifyChain(full.slice(0, 2), head)).toMatchObject({
      valid: false,
      brokenAt: { problem: 'the timeline ends at entry 2, but its head says 3' },
    });
    expect(verifyChain([], { seq: 0, hash: null }).valid).toBe(true);
  });

  it('hashes data canonically: key order does not matter', () => {
    const base = { incidentId: 'i', seq: 1, at: 'x', kind: 'k', summary: 's', eventId: null, eventType: null, prevHash: GENESIS_HASH };
    expect(entryHash({ ...base, data: { a: 1, b: 2 } })).toBe(entryHash({ ...base, data: { b: 2, a: 1 } }));
  });
});
