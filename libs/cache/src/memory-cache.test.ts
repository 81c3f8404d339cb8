import { cacheContract } from './cache.contract.js';
import { createMemoryCache } from './memory-cache.js';

cacheContract('in-memory', async () => {
  const cache = createMemoryCache({ prefix: 'test:' });
  return { cache, peer: async () => cache, cleanup: () => cache.close() };
});
