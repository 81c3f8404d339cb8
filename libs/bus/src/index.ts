export type {
  Bus,
  BusHealth,
  BusLogger,
  BusObserver,
  ConsumeOptions,
  DeadLetter,
  EventHandler,
  HandlerContext,
  HandlerMap,
  PublishResult,
  ReadOptions,
  SettledDelivery,
  Settlement,
  StoredEvent,
  Subscription,
} from './port.js';
export { silentLogger } from './port.js';
export { defaultConsumeSettings } from './delivery.js';
export { createMemoryInbox, type Inbox } from './inbox.js';
export { MemoryBus, type MemoryBusOptions } from './memory/memory-bus.js';
export { createNatsBus, VIGIL_HEADERS, type NatsBusOptions } from './nats/nats-bus.js';
export { deleteNatsStreams, durableName } from './nats/streams.js';
export { connectionOptions, withoutCredentials } from './nats/connection.js';
