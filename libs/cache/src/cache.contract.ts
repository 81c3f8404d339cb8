import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '@vigil/testing';
import type { Cache } from './port.js';

export interface CacheHarness {
  cache: Cache;
  /** Another client on the same keys (another process). */
  peer(): Promise<Cache>;
  cleanup(): Promise<void>;
}

/** The cache contract: Redis and the in-memory cache must behave the same. */
export function cacheContract(name: string, makeHarness: () => Promise<CacheHarness>): void {
  describe(`cache contract: ${name}`, () => {
    let harness: CacheHarness;
    let cache: Cache;
    beforeEach(async () => {
      harness = await makeHarness();
      cache = harness.cache;
    });
    afterEach(async () => harness.cleanup());

    it('setIfAbsent stores once, until the key expires', async () => {
      // A ttl the first checks finish well inside even on a loaded machine (150 ms was not).
      expect(await cache.setIfAbsent('dedup:a', 'first', 1_000)).toBe(true);
      expect(await cache.setIfAbsent('dedup:a', 'second', 1_000)).toBe(false);
      expect(await cache.get('dedup:a')).toBe('first');
      await sleep(1_100);
      expect(await cache.get('dedup:a')).toBeNull();
      expect(await cache.setIfAbsent('dedup:a', 'third', 150)).toBe(true);
    });

    it('setIfAbsent is exclusive across clients racing for the key', async () => {
      const peer = await harness.peer();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? cache : peer).setIfAbsent('race', String(i), 5000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('delete removes a key', async () => {
      await cache.setIfAbsent('gone', 'x', 5000);
      await cache.delete('gone');
      expect(await cache.get('gone')).toBeNull();
    });

    it('counts in a sliding window, by amount, forgetting what is older than the window', async () => {
      expect(await cache.addToWindow('budget:svc', 1000)).toBe(1);
      expect(await cache.addToWindow('budget:svc', 1000)).toBe(2);
      expect(await cache.addToWindow('budget:svc', 1000, 5)).toBe(7);
      expect(await cache.addToWindow('budget:svc', 1000, 0)).toBe(7);
      await sleep(1200);
      expect(await cache.addToWindow('budget:svc', 1000, 0)).toBe(0);
      expect(await cache.addToWindow('budget:svc', 1000, 2)).toBe(2);
      expect(await cache.addToWindow('budget:other', 1000, 0)).toBe(0);
    });

    it('a window shared by clients adds up every client', async () => {
      const peer = await harness.peer();
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? cache : peer).addToWindow('shared', 10_000)));
      expect(await cache.addToWindow('shared', 10_000, 0)).toBe(10);
    });

    it('a lock has one holder; only the holder releases or extends it; it expires', async () => {
      const peer = await harness.peer();
      // Lifetimes with room for a loaded machine: the checks that the lock is still held must run
      // before it expires (with 200 ms and an extension to 400 ms, a 150 ms stall was enough to fail).
      const lock = await cache.acquireLock('lock:incident-1', 1_000);
      expect(lock).not.toBeNull();
      expect(await peer.acquireLock('lock:incident-1', 1_000)).toBeNull();
      expect(await lock!.extend(3_000)).toBe(true);
      await sleep(1_100); // past the first lifetime: only the extension keeps it
      expect(await peer.acquireLock('lock:incident-1', 200)).toBeNull(); // extended, still held
      expect(await lock!.release()).toBe(true);
      const taken = await peer.acquireLock('lock:incident-1', 100);
      expect(taken).not.toBeNull();
      expect(await lock!.release()).toBe(false); // not the holder any more
      await sleep(200);
      expect(await taken!.extend(100)).toBe(false); // expired
      expect(await cache.acquireLock('lock:incident-1', 100)).not.toBeNull();
    });

    it('refuses a nonsensical ttl with a message naming it', async () => {
      await expect(cache.setIfAbsent('k', 'v', 0)).rejects.toThrow(/ttlMs/);
      await expect(cache.addToWindow('k', -1)).rejects.toThrow(/windowMs/);
    });

    it('reports health', async () => {
      expect((await cache.health()).ok).toBe(true);
    });
  });
}
