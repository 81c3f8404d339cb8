import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';

/**
 * Where integration tests find real infrastructure, in this order:
 *   1. the URL from the environment (NATS_URL, DATABASE_URL, REDIS_URL);
 *   2. the service on its default local port;
 *   3. a Testcontainers container, when a Docker engine answers;
 *   4. otherwise the test fails with the command that starts the service. Never a silent skip.
 */
type Service = 'nats' | 'postgres' | 'redis';

interface ServiceSpec {
  env: string;
  host: string;
  port: number;
  localUrl: string;
  start: string;
  container: { image: string; port: number; command?: string[]; env?: Record<string, string>; url: (host: string, port: number) => string };
}

const specs: Record<Service, ServiceSpec> = {
  nats: {
    env: 'NATS_URL',
    host: '127.0.0.1',
    port: 4222,
    localUrl: 'nats://127.0.0.1:4222',
    start:
      'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
    container: { image: 'nats:2.10', port: 4222, command: ['-js'], url: (h, p) => `nats://${h}:${p}` },
  },
  postgres: {
    env: 'DATABASE_URL',
    host: '127.0.0.1',
    port: 5432,
    localUrl: 'postgres://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    container: {
      image: 'postgres:16',
      port: 5432,
      env: { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' },
      url: (h, p) => `postgres://postgres@${h}:${p}/test`,
    },
  },
  redis: {
    env: 'REDIS_URL',
    host: '127.0.0.1',
    port: 6379,
    localUrl: 'redis://127.0.0.1:6379',
    start:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    container: { image: 'redis:7', port: 6379, url: (h, p) => `redis://${h}:${p}` },
  },
};

function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function fromContainer(spec: ServiceSpec): Promise<string | undefined> {
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    let container = new GenericContainer(spec.container.image).withExposedPorts(spec.container.port);
    if (spec.container.command) container = container.withCommand(spec.container.command);
    if (spec.container.env) container = container.withEnvironment(spec.container.env);
    const started = await container.withWaitStrategy(Wait.forListeningPorts()).start();
    return spec.container.url(started.getHost(), started.getMappedPort(spec.container.port));
  } catch {
    return undefined; // no Docker engine here
  }
}

const resolved = new Map<Service, Promise<string>>();

/** The resolution order above, for one service; exported for its own tests. */
export async function locateService(
  service: Service,
  options: { env?: NodeJS.ProcessEnv; port?: number; tryContainers?: boolean } = {},
): Promise<string> {
  const spec = { ...specs[service], ...(options.port === undefined ? {} : { port: options.port }) };
  const fromEnv = (options.env ?? process.env)[spec.env];
  if (fromEnv) return fromEnv;
  if (await portOpen(spec.host, spec.port)) return spec.localUrl.replace(/:\d+(\/|$)/, `:${spec.port}$1`);
  const containerUrl = options.tryContainers === false ? undefined : await fromContainer(spec);
  if (containerUrl) return containerUrl;
  throw new Error(
    `${service} is needed by this test but is not reachable: ${spec.env} is unset, nothing listens on ` +
      `${spec.host}:${spec.port}, and no Docker engine answered for Testcontainers. Start it with:\n  ${spec.start}\n` +
      `or set ${spec.env}. (.ci/run installs and starts it.)`,
  );
}

function urlFor(service: Service): Promise<string> {
  let url = resolved.get(service);
  if (!url) {
    url = locateService(service);
    resolved.set(service, url);
  }
  return url;
}

export const natsUrl = (): Promise<string> => urlFor('nats');
export const databaseUrl = (): Promise<string> => urlFor('postgres');
export const redisUrl = (): Promise<string> => urlFor('redis');

/** A name unique to this test run, usable as a subject prefix, schema name or key prefix. */
export function uniqueName(label = 't'): string {
  return `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
}
