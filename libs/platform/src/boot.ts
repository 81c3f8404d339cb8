import type { z } from 'zod';
import type { Bus } from '@vigil/bus';
import { describeConfig, loadConfig, type ConfigShape } from './config.js';
import { connectBus, type InfrastructureConfig } from './infrastructure.js';
import { createLogger, type Logger } from './logger.js';
import { ServiceMetrics } from './metrics.js';

export interface Booted<S extends ConfigShape> {
  config: z.output<z.ZodObject<S>>;
  log: Logger;
  metrics: ServiceMetrics;
  bus: Bus;
}

/**
 * The first steps of every service's main(): configuration (a bad value stops start-up),
 * the logger, a start-up line with the configuration (secrets hidden), metrics, and the bus.
 */
export async function bootService<S extends ConfigShape>(
  name: string,
  version: string,
  shape: S,
  extra: Record<string, unknown> = {},
): Promise<Booted<S>> {
  const config = loadConfig(shape);
  const infra = config as unknown as InfrastructureConfig;
  const log = createLogger({ service: name, version, level: infra.LOG_LEVEL });
  log.info({ config: describeConfig(shape, config), ...extra }, 'starting');
  const metrics = new ServiceMetrics(name);
  const bus = await connectBus(infra, { name, logger: log, observer: metrics.observer });
  return { config, log, metrics, bus };
}
