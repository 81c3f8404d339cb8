import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { VigilError } from '@vigil/errors';
import { ServiceName, VerificationCheck } from '@vigil/events';

/**
 * The service catalog: what Vigil knows about each service it looks after — where its health
 * endpoint is, which datastores it depends on, who owns it, and which read-only probes the
 * investigator may run. One YAML file; secrets stay out of it as `${ENV_VAR}` references.
 *
 * ```yaml
 * services:
 *   payment-api:
 *     owners: [payments-oncall]
 *     health: http://payment-api:7480/health
 *     postgres: ${PAYMENT_DB_PROBE_URL}
 *     redis: redis://cache:6379/0
 *     probes: [http, postgres]        # default: every probe that has a target
 * ```
 */

export const ProbeKind = z.enum(['http', 'postgres', 'redis']);
export type ProbeKind = z.infer<typeof ProbeKind>;

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    `a URL (${protocols.join(', ')})`,
  );

/** What the executor may act on, with credentials separate from the probes' read-only ones. */
const ExecutorTargets = z.strictObject({
  /** A DSN for a role that may signal backends (granted `pg_signal_backend`), never a superuser. */
  postgres: url(['postgres', 'postgresql']).optional(),
  redis: url(['redis', 'rediss']).optional(),
  /** The only endpoints `http.request` may call, by name. */
  endpoints: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'an endpoint name: a-z, 0-9, _ -'),
      z.strictObject({ url: url(['http', 'https']), method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST') }),
    )
    .default({}),
  /** The supervisor command `process.restart` runs, as argv (no shell), e.g. [systemctl, restart, payment-api]. */
  restart: z.array(z.string().min(1)).min(1).optional(),
  /** Where `k8s.*` actions apply. */
  kubernetes: z.strictObject({ namespace: z.string().min(1), deployment: z.string().min(1) }).optional(),
});
export type ExecutorTargets = z.infer<typeof ExecutorTargets>;

const ServiceEntry = z.strictObject({
  owners: z.array(z.string().min(1)).default([]),
  /** The health endpoint the HTTP probe (and the verifier) calls. */
  health: url(['http', 'https']).optional(),
  /** A DSN for a role with read access to the statistics views (e.g. granted `pg_monitor`). */
  postgres: url(['postgres', 'postgresql']).optional(),
  /** A Redis URL for a user allowed `INFO` (an ACL user with `+info` is enough). */
  redis: url(['redis', 'rediss']).optional(),
  probes: z.array(ProbeKind).optional(),
  /** Checks that prove the service works (HTTP probes, browser journeys), added to every plan's own. */
  checks: z.array(VerificationCheck).default([]),
  executor: ExecutorTargets.optional(),
});

const CatalogFile = z.strictObject({
  services: z.record(ServiceName, ServiceEntry).default({}),
});

export interface ServiceEntry extends z.infer<typeof ServiceEntry> {
  name: string;
  /** The probes to run: the declared ones, or every probe that has a target. */
  probes: ProbeKind[];
}

export interface ServiceCatalog {
  get(service: string): ServiceEntry | undefined;
  services(): ServiceEntry[];
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` in every string; a reference to an unset variable is an error naming it and where. */
function interpolate(value: unknown, env: Record<string, string | undefined>, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) problems.push(`${path}: refers to \${${name}}, which is not set`);
      return found ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, `${path}[${i}]`, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, path ? `${path}.${key}` : key, problems)]),
    );
  }
  return value;
}

const targetOf = (entry: z.infer<typeof ServiceEntry>, kind: ProbeKind): string | undefined =>
  kind === 'http' ? entry.health : entry[kind];

/**
 * Parses a catalog; every problem is reported at once with the file, the field and the reason.
 * `env` fills `${NAME}` references (pass `process.env`).
 */
export function parseCatalog(text: string, env: Record<string, string | undefined>, file = 'catalog'): ServiceCatalog {
  const fail = (problems: string[]): never => {
    throw new VigilError('CATALOG_INVALID', `invalid service catalog ${file}:\n  ${problems.join('\n  ')}`, { retryable: false });
  };
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) fail(document.errors.map((e) => e.message.split('\n')[0] ?? e.message));
  const problems: string[] = [];
  const raw = interpolate(document.toJS() ?? {}, env, '', problems);
  if (problems.length > 0) fail(problems);
  const parsed = CatalogFile.safeParse(raw);
  if (!parsed.success) return fail(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`));
  const entries = new Map<string, ServiceEntry>();
  for (const [name, entry] of Object.entries(parsed.data.services)) {
    const available = ProbeKind.options.filter((kind) => targetOf(entry, kind) !== undefined);
    for (const kind of entry.probes ?? []) {
      if (!available.includes(kind))
        problems.push(`services.${name}.probes: ${kind} needs services.${name}.${kind === 'http' ? 'health' : kind}`);
    }
    entries.set(name, { ...entry, name, probes: entry.probes ?? available });
  }
  if (problems.length > 0) fail(problems);
  return { get: (service) => entries.get(service), services: () => [...entries.values()] };
}

/** Reads and parses a catalog file. */
export async function loadCatalog(path: string, env: Record<string, string | undefined>): Promise<ServiceCatalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new VigilError('CATALOG_UNREADABLE', `cannot read the service catalog ${path}: ${(error as Error).message}`, {
      retryable: false,
      cause: error,
    });
  }
  return parseCatalog(text, env, path);
}

/**
 * The checks that prove a service works: the catalog's declared checks, or else a GET of its
 * health URL. Empty when the catalog knows neither.
 */
export function checksFor(entry: ServiceEntry | undefined): VerificationCheck[] {
  if (!entry) return [];
  if (entry.checks.length > 0) return entry.checks;
  return entry.health
    ? [{ kind: 'http', name: `${entry.name} health`, method: 'GET', url: entry.health, expectStatus: 200, maxLatencyMs: 2_000 }]
    : [];
}

/** An empty catalog: nothing to probe. */
export const emptyCatalog: ServiceCatalog = { get: () => undefined, services: () => [] };

/**
 * The catalog a service's `VIGIL_SERVICE_CATALOG` names (empty when unset). A bad catalog is bad
 * configuration: `CONFIG_INVALID`, so start-up stops with one clear message (exit 78).
 */
export async function catalogFromConfig(path: string | undefined, env: Record<string, string | undefined>): Promise<ServiceCatalog> {
  if (!path) return emptyCatalog;
  try {
    return await loadCatalog(path, env);
  } catch (error) {
    throw new VigilError('CONFIG_INVALID', `VIGIL_SERVICE_CATALOG: ${(error as Error).message}`, { retryable: false, cause: error });
  }
}

/** A URL fit for logs and evidence: the password (and a token user) removed. */
export function describeTarget(target: string): string {
  try {
    const parsed = new URL(target);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '(unparseable target)';
  }
}

/** The database a Postgres URL names, for messages: `(default database)` when it names none. */
export function databaseOf(target: string): string {
  try {
    return decodeURIComponent(new URL(target).pathname.replace(/^\//, '')) || '(default database)';
  } catch {
    return '(unparseable target)';
  }
}

/** Postgres refuses a connection with this SQLSTATE when a role's, a database's or the server's connection limit is reached. */
export const TOO_MANY_CONNECTIONS = '53300';

/**
 * When a Postgres target's own database refuses new connections (its CONNECTION LIMIT is taken),
 * the same server can still be read and acted on from its maintenance database: `pg_stat_activity`
 * and the signalling functions see every database. The database the target names, and the URL of
 * the same server, role and settings on the maintenance database instead (undefined when the URL
 * names no database, or names the maintenance database already).
 */
export function maintenanceTarget(target: string, maintenanceDatabase = 'postgres'): { database: string; url: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    return undefined;
  }
  const database = databaseOf(target);
  if (parsed.pathname.length <= 1 || database === maintenanceDatabase || parsed.searchParams.has('dbname')) return undefined;
  parsed.pathname = `/${encodeURIComponent(maintenanceDatabase)}`;
  return { database, url: parsed.toString() };
}
