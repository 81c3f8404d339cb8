import type { FastifyInstance } from 'fastify';
import type { Bus, ConsumeOptions, Subscription } from '@vigil/bus';
import { createHttpServer, type DependencyCheck } from './http.js';
import type { Logger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';

export interface ServiceOptions {
  name: string;
  version: string;
  host: string;
  port: number;
  logger: Logger;
  metrics: ServiceMetrics;
  bus: Bus;
  /** Consumers to start; `durable` defaults to the service name. */
  consumers?: Array<Omit<ConsumeOptions, 'durable'> & { durable?: string }>;
  /** Readiness checks besides the bus (db, cache, vendors). */
  dependencies?: Record<string, DependencyCheck>;
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /** Background work (relays, pollers) stopped after the consumers and HTTP, before the bus closes. */
  background?: Array<{ name: string; stop: () => Promise<void> }>;
  /** Closed last, in order (stores, caches). */
  closers?: Array<{ name: string; close: () => Promise<void> }>;
  /** Linked from the status page at `/` (VIGIL_CONSOLE_URL); unset: no link. */
  consoleUrl?: string | undefined;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  bodyLimitBytes?: number;
}

export interface RunningService {
  readonly app: FastifyInstance;
  /** Where the HTTP server listens, e.g. `http://127.0.0.1:7402`. */
  readonly url: string;
  /**
   * Graceful stop: stop fetching, let running handlers finish and be acknowledged, stop taking
   * HTTP requests, stop background work, drain the bus connection, then close stores. Safe to
   * call twice.
   */
  stop(): Promise<void>;
}

/** Starts a service: HTTP surface, consumers, and the ordered shutdown behind `stop()`. */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const log = options.logger;
  const app = createHttpServer({
    service: options.name,
    version: options.version,
    logger: log,
    metrics: options.metrics,
    dependencies: { bus: () => options.bus.health(), ...options.dependencies },
    ...(options.consoleUrl ? { consoleUrl: options.consoleUrl } : {}),
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  if (options.routes) await app.register(async (scoped) => options.routes?.(scoped));

  const subscriptions: Subscription[] = [];
  const closeAll = async (): Promise<void> => {
    // All consumers stop fetching at once; then each waits for its own running handlers.
    await Promise.all(subscriptions.map((sub) => sub.stop()));
    subscriptions.forEach((sub) => options.metrics.untrack(sub));
    await app.close();
    for (const task of options.background ?? []) {
      await task.stop().catch((error: unknown) => log.warn({ err: error, task: task.name }, 'stop failed'));
    }
    await options.bus.close();
    for (const closer of options.closers ?? []) {
      await closer.close().catch((error: unknown) => log.warn({ err: error, dependency: closer.name }, 'close failed'));
    }
  };

  try {
    await app.listen({ host: options.host, port: options.port });
    for (const consumer of options.consumers ?? []) {
      const sub = await options.bus.consume({ ...consumer, durable: consumer.durable ?? options.name });
      options.metrics.track(sub);
      subscriptions.push(sub);
    }
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url, consumers: subscriptions.map((s) => s.durable), bus: options.bus.kind }, 'service started');

  let stopping: Promise<void> | undefined;
  return {
    app,
    url,
    stop() {
      stopping ??= closeAll().then(() => log.info('service stopped'));
      return stopping;
    },
  };
}

/** Signals that arrived while a service was still starting, kept for `stopOnSignals`. */
export interface HeldSignals {
  /** Stops holding; returns the first signal that arrived meanwhile, if any. */
  release(): NodeJS.Signals | undefined;
}

/**
 * Holds SIGTERM / SIGINT from the start of main() until `stopOnSignals` takes over. A service
 * starts its consumers before it can be stopped gracefully; a signal in that window (a rolling
 * deploy, a test) would otherwise kill the process the default way, mid-handler. A start that
 * hangs is not waited for forever: a second signal, or `giveUpMs` after the first, exits 1.
 */
export function holdSignals(giveUpMs = 30_000): HeldSignals {
  let received: NodeJS.Signals | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  const hold = (signal: NodeJS.Signals): void => {
    if (received) process.exit(1);
    received = signal;
    giveUp = setTimeout(() => process.exit(1), giveUpMs);
    giveUp.unref();
  };
  process.on('SIGTERM', hold);
  process.on('SIGINT', hold);
  return {
    release() {
      process.off('SIGTERM', hold);
      process.off('SIGINT', hold);
      clearTimeout(giveUp);
      return received;
    },
  };
}

/**
 * SIGTERM / SIGINT → graceful stop, then exit 0; if the stop outlives `timeoutMs`, exit 1 so an
 * orchestrator is not left waiting (unfinished deliveries are redelivered by JetStream). A signal
 * `held` while the service started is acted on at once.
 */
export function stopOnSignals(service: RunningService, log: Logger, timeoutMs: number, held?: HeldSignals): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal while stopping means "now": exit without waiting for the stop.
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'graceful shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const early = held?.release();
  if (early) onSignal(early);
}
