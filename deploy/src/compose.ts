import { parse } from 'yaml';

type Json = Record<string, unknown>;

export interface ComposeFacts {
  /** The services that are apps, by name. */
  services: string[];
  /** Per app: the variables its configuration reads. */
  config: Record<string, Set<string>>;
  /** Per app: whether its code opens Postgres and Redis. */
  infrastructure: Record<string, { postgres: boolean; redis: boolean }>;
  /** Per app: its port. */
  ports: Record<string, number>;
}

export const parseCompose = (text: string): Json => parse(text, { merge: true }) as Json;

const dependsOn = (service: Json): Record<string, string> => {
  const raw = service.depends_on;
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((name) => [String(name), 'service_started']));
  return Object.fromEntries(
    Object.entries((raw as Record<string, Json> | undefined) ?? {}).map(([name, v]) => [name, String(v.condition)]),
  );
};

const environment = (service: Json): Record<string, string> => {
  const raw = service.environment;
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((line) => String(line).split(/=(.*)/s).slice(0, 2) as [string, string]));
  return Object.fromEntries(Object.entries((raw as Json | undefined) ?? {}).map(([k, v]) => [k, String(v)]));
};

/** What is wrong with docker-compose.yml against the apps (empty: nothing). */
export function composeProblems(compose: Json, facts: ComposeFacts): string[] {
  const problems: string[] = [];
  const services = (compose.services as Record<string, Json> | undefined) ?? {};
  for (const infra of ['nats', 'postgres', 'redis', 'browser']) {
    if (!services[infra]) problems.push(`docker-compose.yml: no ${infra} service`);
  }
  const nats = services.nats;
  if (nats) {
    const command = ((nats.command as string[] | undefined) ?? []).join(' ');
    if (!/(^|\s)(-js|--jetstream)(\s|$)/.test(command)) problems.push('docker-compose.yml: nats runs without JetStream (-js)');
    const store = /(?:-sd|--store_dir)\s+(\S+)/.exec(command)?.[1];
    const volumes = ((nats.volumes as string[] | undefined) ?? []).map(String);
    if (!store || !volumes.some((v) => v.endsWith(`:${store}`) && !v.startsWith('.') && !v.startsWith('/'))) {
      problems.push('docker-compose.yml: nats keeps its JetStream store on no named volume');
    }
  }

  const appServices = Object.entries(services).filter(
    ([, s]) => typeof s.working_dir === 'string' && s.working_dir.startsWith('/app/apps/'),
  );
  const composed = appServices.map(([name]) => name);
  for (const app of facts.services) if (!composed.includes(app)) problems.push(`docker-compose.yml: app ${app} has no service`);
  for (const name of composed)
    if (!facts.services.includes(name)) problems.push(`docker-compose.yml: service ${name} runs an app that is not a service`);

  for (const app of facts.services) {
    const service = services[app];
    if (!service) continue;
    const where = `docker-compose.yml: ${app}`;
    if (service.working_dir !== `/app/apps/${app}`)
      problems.push(`${where}: working_dir is ${String(service.working_dir)}, not /app/apps/${app}`);
    if (service.command !== undefined || service.entrypoint !== undefined) problems.push(`${where}: overrides the image's start command`);
    const build = service.build as Json | undefined;
    if (!build || build.context !== '.' || (build.dockerfile ?? 'Dockerfile') !== 'Dockerfile')
      problems.push(`${where}: not built from the root Dockerfile`);
    const health = ((service.healthcheck as Json | undefined)?.test as string[] | undefined)?.join(' ') ?? '';
    const port = facts.ports[app];
    if (!health.includes(`:${port}/readyz`)) problems.push(`${where}: no healthcheck on /readyz at port ${port}`);
    const deps = dependsOn(service);
    const infra = facts.infrastructure[app] ?? { postgres: false, redis: false };
    const needs: Array<[string, boolean]> = [
      ['nats', true],
      ['postgres', infra.postgres],
      ['redis', infra.redis],
    ];
    for (const [dep, needed] of needs) {
      if (needed && deps[dep] !== 'service_healthy')
        problems.push(`${where}: does not wait for ${dep} to be healthy (depends_on ${dep}: service_healthy)`);
    }
    for (const [dep, condition] of Object.entries(deps)) {
      if (!services[dep]) problems.push(`${where}: depends on ${dep}, which is not a service`);
      if (condition !== 'service_healthy' && condition !== 'service_started')
        problems.push(`${where}: depends_on ${dep} has condition ${condition}`);
      if (condition === 'service_started' && services[dep]?.healthcheck)
        problems.push(`${where}: waits only for ${dep} to start although it has a health check`);
    }
    const env = environment(service);
    const known = facts.config[app] ?? new Set<string>();
    for (const name of Object.keys(env))
      if (!known.has(name)) problems.push(`${where}: sets ${name}, which its configuration does not read`);
    if (!env.NATS_URL) problems.push(`${where}: no NATS_URL`);
    if (infra.postgres !== Boolean(env.DATABASE_URL))
      problems.push(`${where}: ${infra.postgres ? 'opens Postgres but has no DATABASE_URL' : 'gets DATABASE_URL it never uses'}`);
    if (infra.redis !== Boolean(env.REDIS_URL))
      problems.push(`${where}: ${infra.redis ? 'opens Redis but has no REDIS_URL' : 'gets REDIS_URL it never uses'}`);
    if (service.read_only !== true) problems.push(`${where}: root filesystem is writable (read_only: true)`);
  }

  const verifierBrowser = services.verifier ? environment(services.verifier).VIGIL_BROWSER_WS : undefined;
  if (services.verifier && !/\/\/browser:9222\b/.test(verifierBrowser ?? ''))
    problems.push('docker-compose.yml: the verifier does not use the browser service (VIGIL_BROWSER_WS)');
  for (const [app, port] of [
    ['ingest', 7401],
    ['orchestrator', 7402],
  ] as const) {
    const published = ((services[app]?.ports as string[] | undefined) ?? []).map(String);
    if (!published.some((p) => p.endsWith(`:${port}`))) problems.push(`docker-compose.yml: ${app} does not publish ${port}`);
  }
  return problems;
}

/** Every `${NAME…}` docker-compose.yml interpolates, and every NAME .env.example documents. */
export function envExampleProblems(composeText: string, envExample: string): string[] {
  const code = composeText
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const used = new Set([...code.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1] ?? ''));
  const documented = new Set([...envExample.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? ''));
  return [
    ...[...used]
      .filter((name) => !documented.has(name))
      .map((name) => `.env.example: ${name} (used in docker-compose.yml) is not documented`),
    ...[...documented]
      .filter((name) => !used.has(name))
      .map((name) => `.env.example: ${name} is documented but docker-compose.yml never uses it`),
  ];
}
