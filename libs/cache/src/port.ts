/** A held lock. Its token proves ownership: only the holder can release or extend it. */
export interface Lock {
  readonly key: string;
  readonly token: string;
  /** False when the lock had already expired or been taken over. */
  release(): Promise<boolean>;
  extend(ttlMs: number): Promise<boolean>;
}

/**
 * The cache port: de-duplication, windowed counters (rate limits, blast-radius budgets) and
 * locks with expiry. Redis in production, in memory in single-process mode; cache.contract.ts
 * holds both to the same behaviour. Keys are namespaced by the adapter's prefix.
 */
export interface Cache {
  readonly kind: 'redis' | 'memory';
  /** Stores `value` only if `key` is absent; true when stored. The key expires after `ttlMs`. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /**
   * Adds `amount` to a sliding window of the last `windowMs` and returns the window's total,
   * this addition included. `amount` 0 only reads.
   */
  addToWindow(key: string, windowMs: number, amount?: number): Promise<number>;
  /** Takes the lock if free; null when someone else holds it. It expires after `ttlMs`. */
  acquireLock(key: string, ttlMs: number): Promise<Lock | null>;
  health(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}

export function checkTtl(ms: number, what = 'ttlMs'): number {
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${what} must be a positive whole number of milliseconds, got ${ms}`);
  return ms;
}
