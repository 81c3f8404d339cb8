import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bus } from '@vigil/bus';
import { approverService } from '@vigil/approver';
import { executorService } from '@vigil/executor';
import { ingestService } from '@vigil/ingest';
import { investigatorService } from '@vigil/investigator';
import { memoryService } from '@vigil/memory';
import { orchestratorService } from '@vigil/orchestrator';
import {
  bootService,
  connectBus,
  createLogger,
  infrastructureConfig,
  loadConfig,
  type ConfigShape,
  type RunningService,
  type ServiceDefinition,
} from '@vigil/platform';
import { reasonerService } from '@vigil/reasoner';
import { verifierService } from '@vigil/verifier';

/** Every service, in start order: the saga first (it owns the flow), the edge last (it lets alerts in). */
export const services: ReadonlyArray<ServiceDefinition<ConfigShape>> = [
  orchestratorService,
  memoryService,
  investigatorService,
  reasonerService,
  executorService,
  verifierService,
  approverService,
  ingestService,
] as unknown as ReadonlyArray<ServiceDefinition<ConfigShape>>;

export interface Engine {
  bus: Bus;
  /** Where each service listens. */
  urls: Record<string, string>;
  /** The routing key `/v2/enqueue` accepts (generated for this run when none was configured). */
  routingKey: string;
  /** A bearer token for the incident API (generated for this run when none was configured). */
  apiToken: string;
  stop(): Promise<void>;
}

/**
 * What a local run needs to be usable and still locked: a routing key for `/v2/enqueue` and an
 * API token for the incident API, generated for this run unless configured. With nothing
 * configured, whoever holds the token may approve (one person: CRITICAL, which needs two, still
 * escalates); once any token or policy is configured, nothing is filled in.
 */
export function runSecrets(env: NodeJS.ProcessEnv): { routingKey: string; apiToken: string; env: NodeJS.ProcessEnv } {
  const routingKey = env.VIGIL_ROUTING_KEYS?.split(',')[0]?.trim() || randomBytes(16).toString('hex');
  const apiToken = env.ORCHESTRATOR_API_TOKENS?.split(',')[0]?.split(':')[1]?.trim() || randomBytes(24).toString('base64url');
  const local = !env.ORCHESTRATOR_API_TOKENS && !env.APPROVER_API_TOKENS && !env.APPROVER_POLICY;
  const localPolicy = JSON.stringify({ people: { operator: { name: 'operator' } }, approvers: { '*': { default: ['operator'] } } });
  return {
    routingKey,
    apiToken,
    env: {
      VIGIL_ROUTING_KEYS: env.VIGIL_ROUTING_KEYS || routingKey,
      ORCHESTRATOR_API_TOKENS: env.ORCHESTRATOR_API_TOKENS || `operator:${apiToken}`,
      ...(local ? { APPROVER_API_TOKENS: `operator:${apiToken}`, APPROVER_POLICY: localPolicy } : {}),
    },
  };
}

/** A listening address as seen from this machine: a wildcard host is reached on loopback. */
const reachable = (host: string | undefined, port: number): string => {
  const name = !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
};

/**
 * How the services of a local run find each other's pages: the console sends Approve / Deny to
 * the approver (APPROVER_URL), and every status page links to the console (VIGIL_CONSOLE_URL).
 * Ports are read with the services' own defaults; anything configured is left alone.
 */
export function localLinks(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // A bad port is left for the service's own configuration check to report.
  const approverPort = approverService.config.APPROVER_PORT.safeParse(env.APPROVER_PORT);
  const orchestratorPort = orchestratorService.config.ORCHESTRATOR_PORT.safeParse(env.ORCHESTRATOR_PORT);
  return {
    ...(approverPort.success ? { APPROVER_URL: env.APPROVER_URL || reachable(env.APPROVER_HOST, approverPort.data) } : {}),
    ...(orchestratorPort.success
      ? { VIGIL_CONSOLE_URL: env.VIGIL_CONSOLE_URL || `${reachable(env.ORCHESTRATOR_HOST, orchestratorPort.data)}/console` }
      : {}),
  };
}

/**
 * Starts every service in this process on one bus: the in-process bus, PGlite and the in-memory
 * cache by default; `NATS_URL`, `DATABASE_URL` and `REDIS_URL` switch the same engine to real
 * infrastructure. Each service reads its own variables from `env`, as it would alone; with
 * `VIGIL_DATA_DIR` each keeps its PGlite data in its own subdirectory.
 */
export async function startEngine(env: NodeJS.ProcessEnv = process.env, only?: readonly string[]): Promise<Engine> {
  const log = createLogger({ service: 'engine', level: env.LOG_LEVEL ?? 'info' });
  const infra = loadConfig(infrastructureConfig, env);
  const bus = await connectBus(infra, { name: 'vigil-engine', logger: log });
  const { routingKey, apiToken, env: secrets } = runSecrets(env);
  const links = localLinks(env);
  const running: Array<{ name: string; service: RunningService }> = [];
  const stop = async (): Promise<void> => {
    for (const { service } of running.splice(0).reverse()) await service.stop();
    await bus.close();
  };
  try {
    for (const definition of services) {
      if (only && !only.includes(definition.name)) continue;
      const own: NodeJS.ProcessEnv = { ...env, ...secrets, ...links };
      if (env.VIGIL_DATA_DIR && !env.DATABASE_URL) {
        own.VIGIL_DATA_DIR = join(env.VIGIL_DATA_DIR, definition.name);
        await mkdir(own.VIGIL_DATA_DIR, { recursive: true });
      }
      const booted = await bootService(definition.name, definition.version, definition.config, { env: own, sharedBus: bus });
      running.push({ name: definition.name, service: await definition.start(booted) });
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { bus, urls: Object.fromEntries(running.map(({ name, service }) => [name, service.url])), routingKey, apiToken, stop };
}
