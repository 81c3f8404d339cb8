import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** One stored timeline entry, as hashed. */
export interface TimelineEntry {
  incidentId: string;
  seq: number;
  at: string;
  kind: string;
  summary: string;
  eventId: string | null;
  eventType: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an entry: SHA-256 over the previous hash and the entry's canonical content. */
export function entryHash(entry: Omit<TimelineEntry, 'hash'>): string {
  const { prevHash, ...content } = entry;
  return createHash('sha256').update(prevHash).update(canonicalJson(content)).digest('hex');
}

export interface ChainVerdict {
  valid: boolean;
  entries: number;
  /** The first entry whose hash or link does not match, with what is wrong. */
  brokenAt?: { seq: number; problem: string };
}

/** Where a timeline ends, as recorded apart from it (on the incident): a cut-off tail shows. */
export interface ChainHead {
  seq: number;
  hash: string | null;
}

/** Checks a whole timeline: order, links, hashes, and (given its head) that nothing was cut off. */
export function verifyChain(entries: readonly TimelineEntry[], head?: ChainHead): ChainVerdict {
  let previous = GENESIS_HASH;
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== i + 1)
      return { valid: false, entries: entries.length, brokenAt: { seq: entry.seq, problem: `expected entry ${i + 1}` } };
    if (entry.prevHash !== previous)
      return { valid: false, entries: entries.length, brokenAt: { seq: entry.seq, problem: 'does not link to the entry before' } };
    const { hash, ...rest } = entry;
    if (entryHash(rest) !== hash)
      return { valid: false, entries: entries.length, brokenAt: { seq: entry.seq, problem: 'its content does not match its hash' } };
    previous = hash;
  }
  if (head && (head.seq !== entries.length || (head.seq > 0 && head.hash !== previous))) {
    return {
      valid: false,
      entries: entries.length,
      brokenAt: { seq: entries.length + 1, problem: `the timeline ends at entry ${entries.length}, but its head says ${head.seq}` },
    };
  }
  return { valid: true, entries: entries.length };
}
