import { createHash, randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids
 * made within the same millisecond in order, then random bits. Ids sort by creation time,
 * so the event log and the timeline order themselves.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = 0;
  } else {
    // Same millisecond (or the clock stepped back): stay monotonic within this process.
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      counter = 0;
    }
  }
  const bytes = randomBytes(16);
  bytes[6] = (counter >>> 8) & 0x0f;
  bytes[7] = counter & 0xff;
  return format(stamp(bytes, lastMs));
}

/** Writes the 48-bit millisecond time, the version (7) and the variant bits into `bytes`. */
function stamp(bytes: Buffer, ms: number): Buffer {
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  return bytes;
}

function format(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time encoded in a UUIDv7, in Unix milliseconds. */
export function uuidv7Time(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

/**
 * A UUIDv7-shaped id that is the same every time for the same key: the time part is `atMs`
 * (e.g. when the sender says the alert happened) and the rest comes from a SHA-256 of the key.
 * Ingest uses it so that a redelivered webhook gets the same event id and JetStream de-duplicates it.
 */
export function deterministicUuidv7(key: string, atMs: number): string {
  return format(stamp(createHash('sha256').update(key).digest().subarray(0, 16), atMs));
}
