import { randomUUID } from 'node:crypto';
import { checkTtl, type Cache, type Lock } from './port.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/** The in-process cache for single-process mode. Same contract as Redis; forgets on restart. */
export function createMemoryCache(options: { prefix?: string; now?: () => number } = {}): Cache {
  const prefix = options.prefix ?? '';
  const now = options.now ?? Date.now;
  const values = new Map<string, Entry>();
  const windows = new Map<string, Array<{ at: number; amount: number }>>();

  const live = (key: string): Entry | undefined => {
    const entry = values.get(prefix + key);
    if (entry && entry.expiresAt <= now()) {
      values.delete(prefix + key);
      return undefined;
    }
    return entry;
  };

  const lockFor = (key: string, token: string): Lock => ({
    key,
    token,
    async release() {
      if (live(key)?.value !== token) return false;
      values.delete(prefix + key);
      return true;
    },
    async extend(ttlMs) {
      checkTtl(ttlMs);
      const entry = live(key);
      if (entry?.value !== token) return false;
      entry.expiresAt = now() + ttlMs;
      return true;
    },
  });

  return {
    kind: 'memory',
    async setIfAbsent(key, value, ttlMs) {
      checkTtl(ttlMs);
      if (live(key)) return false;
      values.set(prefix + key, { value, expiresAt: now() + ttlMs });
      return true;
    },
    async get(key) {
      return live(key)?.value ?? null;
    },
    async delete(key) {
      values.delete(prefix + key);
    },
    async addToWindow(key, windowMs, amount = 1) {
      checkTtl(windowMs, 'windowMs');
      const at = now();
      const kept = (windows.get(prefix + key) ?? []).filter((hit) => hit.at > at - windowMs);
      if (amount > 0) kept.push({ at, amount });
      windows.set(prefix + key, kept);
      return kept.reduce((sum, hit) => sum + hit.amount, 0);
    },
    async acquireLock(key, ttlMs) {
      checkTtl(ttlMs);
      const token = randomUUID();
      if (live(key)) return null;
      values.set(prefix + key, { value: token, expiresAt: now() + ttlMs });
      return lockFor(key, token);
    },
    async health() {
      return { ok: true, detail: 'in-memory cache' };
    },
    async close() {
      values.clear();
      windows.clear();
    },
  };
}
