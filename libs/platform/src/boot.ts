import type { z } from 'zod';
import type { Bus } from '@vigil/bus';
import { describeConfig, loadConfig, type ConfigShape } from './config.js';
import { connectBus, type InfrastructureConfig } from './infrastructure.js';
import { createLogger, type Logger } from './logger.js';
import { runMain } from './main.js';
import { ServiceMetrics } from './metrics.js';
import { holdSignals, stopOnSignals, type RunningService } from './service.js';

export interface Booted<S extends ConfigShape> {
  config: z.output<z.ZodObject<S>>;
  log: Logger;
  metrics: ServiceMetrics;
  bus: Bus;
}

export interface BootOptions {
  /** Extra fields for the start-up line. */
  extra?: Record<string, unknown>;
  /** Where the configuration comes from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * A bus shared by several services in one process (the single-process engine). The service
   * gets a view whose `close()` does nothing: the owner closes the bus once, after every
   * service has stopped.
   */
  sharedBus?: Bus;
}

/**
 * The first steps of every service's main(): configuration (a bad value stops start-up),
 * the logger, a start-up line with the configuration (secrets hidden), metrics, and the bus.
 */
export async function bootService<S extends ConfigShape>(
  name: string,
  version: string,
  shape: S,
  options: BootOptions = {},
): Promise<Booted<S>> {
  const config = loadConfig(shape, options.env);
  const infra = config as unknown as InfrastructureConfig;
  const log = createLogger({ service: name, version, level: infra.LOG_LEVEL });
  log.info({ config: describeConfig(shape, config), ...options.extra }, 'starting');
  const metrics = new ServiceMetrics(name);
  const bus = options.sharedBus ? borrowed(options.sharedBus) : await connectBus(infra, { name, logger: log, observer: metrics.observer });
  return { config, log, metrics, bus };
}

/** A shared bus as one service sees it: everything but closing it. */
function borrowed(bus: Bus): Bus {
  return {
    kind: bus.kind,
    prefix: bus.prefix,
    publish: (event) => bus.publish(event),
    consume: (options) => bus.consume(options),
    read: (options) => bus.read(options),
    deadLetters: (options) => bus.deadLetters(options),
    health: () => bus.health(),
    close: () => Promise.resolve(),
  };
}

/**
 * A service, as a value: its name, its configuration, and how it starts once booted. `main.ts`
 * runs it as its own process (`runService`); the single-process engine starts several on one
 * shared bus.
 */
export interface ServiceDefinition<S extends ConfigShape = ConfigShape> {
  name: string;
  version: string;
  config: S;
  start(booted: Booted<S>): Promise<RunningService>;
}

/** A service's whole main(): boot, start, stop gracefully on SIGTERM / SIGINT. */
export function runService<S extends ConfigShape>(definition: ServiceDefinition<S>): void {
  runMain(async () => {
    const held = holdSignals();
    const booted = await bootService(definition.name, definition.version, definition.config);
    const service = await definition.start(booted);
    const { SHUTDOWN_TIMEOUT_MS } = booted.config as unknown as InfrastructureConfig;
    stopOnSignals(service, booted.log, SHUTDOWN_TIMEOUT_MS, held);
  });
}
