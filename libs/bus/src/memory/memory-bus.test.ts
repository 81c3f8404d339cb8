import { busContract } from '../bus.contract.js';
import { MemoryBus } from './memory-bus.js';

busContract('in-process', async (options) => {
  const bus = new MemoryBus({ prefix: 'mem', ...(options ?? {}) });
  return {
    bus,
    // In one process every "copy" shares the same bus, as services in `vigil up` do.
    peer: async () => bus,
    injectRaw: async (subject, data, id) => void bus.appendRaw(subject, data, id),
    cleanup: () => bus.close(),
  };
});
