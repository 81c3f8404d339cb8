export { loadConfig, describeConfig, secret, env, type ConfigShape } from './config.js';
export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics, type RecentEvent } from './metrics.js';
export { createHttpServer, type DependencyCheck, type HttpOptions } from './http.js';
export { holdSignals, startService, stopOnSignals, type HeldSignals, type RunningService, type ServiceOptions } from './service.js';
export { runMain } from './main.js';
export { infrastructureConfig, connectBus, openStore, openCache, inboxFor, type InfrastructureConfig } from './infrastructure.js';
export { bootService, runService, type Booted, type BootOptions, type ServiceDefinition } from './boot.js';
export { parseApiTokens, matchToken } from './api-tokens.js';
