import { redact } from '@vigil/redact';
import { formatSeconds, round, type Finding } from './findings.js';

/** One row of `pg_stat_activity`, as the Postgres probe reads it. */
export interface SessionRow {
  pid: number;
  datname: string | null;
  usename: string | null;
  applicationName: string;
  backendType: string;
  state: string | null;
  /** Seconds since the transaction began (null outside a transaction). */
  xactAgeS: number | null;
  /** Seconds since the state last changed (how long idle, how long waiting). */
  stateAgeS: number | null;
  waitEventType: string | null;
  query: string;
  blockedBy: number[];
  superuser: boolean;
  /** When the session began (ISO, to the microsecond): with the pid, names exactly one session. */
  backendStart?: string | null;
}

export interface PostgresStats {
  database: string;
  maxConnections: number;
  /** Slots only superusers (and roles with pg_use_reserved_connections) may take. */
  reservedConnections: number;
  /** The database's own CONNECTION LIMIT (-1: none): pools often hit this first. */
  databaseConnectionLimit: number;
  /** Roles with a CONNECTION LIMIT that have sessions in the database: their limit, and their client sessions on the whole server. */
  roleConnectionLimits: Array<{ role: string; limit: number; connections: number }>;
  sessions: SessionRow[];
  /** The database refused the probe's connection (its limit is taken) with this message; the stats were read from `readFrom`. */
  refused?: string;
  readFrom?: string;
}

/** What the probe saw when Postgres refused it even on the maintenance database: only the refusal. */
export interface PostgresRefusal {
  refused: string;
  database: string;
  sessions?: undefined;
}

export interface PostgresThresholds {
  /** A lock wait shorter than this is normal traffic, not an incident. */
  lockWaitMinS: number;
  /** Sessions idle in a transaction for longer than this are reported. */
  idleInTransactionMinS: number;
  /** Connections in use over usable connections at which the server is saturated. */
  saturationRatio: number;
}

export const defaultPostgresThresholds: PostgresThresholds = { lockWaitMinS: 2, idleInTransactionMinS: 30, saturationRatio: 0.9 };

const isIdleInTransaction = (state: string | null): boolean => state === 'idle in transaction' || state === 'idle in transaction (aborted)';
/** A session's last query as evidence: one line, bounded, and redacted (literals can hold secrets or PII). */
const queryText = (query: string): string => redact(query.replace(/\s+/g, ' ').trim().slice(0, 300)).text;

/**
 * Blocking chains: who waits on whom (`pg_blocking_pids`), reduced to the root blockers — the
 * sessions that block others and wait on nobody — each with everyone waiting behind it,
 * directly or through another waiter. The root with the most waiters is the finding.
 */
export function assessBlocking(stats: PostgresStats, thresholds: PostgresThresholds): Finding | undefined {
  const sessions = new Map(stats.sessions.filter((s) => s.datname === stats.database).map((s) => [s.pid, s]));
  const waitersOf = new Map<number, number[]>();
  for (const session of sessions.values()) {
    for (const blocker of session.blockedBy) waitersOf.set(blocker, [...(waitersOf.get(blocker) ?? []), session.pid]);
  }
  const roots = [...waitersOf.keys()].filter((pid) => (sessions.get(pid)?.blockedBy.length ?? 0) === 0);
  const behind = (root: number): number[] => {
    const seen = new Set<number>();
    const queue = [...(waitersOf.get(root) ?? [])];
    while (queue.length > 0) {
      const pid = queue.shift() as number;
      if (seen.has(pid) || pid === root) continue;
      seen.add(pid);
      queue.push(...(waitersOf.get(pid) ?? []));
    }
    return [...seen];
  };
  const ranked = roots
    .map((pid) => {
      const waiting = behind(pid);
      const longestWaitS = Math.max(0, ...waiting.map((w) => sessions.get(w)?.stateAgeS ?? 0));
      return { pid, waiting, longestWaitS, blocker: sessions.get(pid) };
    })
    .filter((r) => r.longestWaitS >= thresholds.lockWaitMinS)
    .sort((a, b) => b.waiting.length - a.waiting.length || b.longestWaitS - a.longestWaitS);
  const top = ranked[0];
  if (!top) return undefined;
  const blocker = top.blocker;
  const heldForS = round(blocker?.xactAgeS ?? 0);
  const state = blocker?.state ?? 'unknown';
  const idle = isIdleInTransaction(blocker?.state ?? null);
  let confidence = 0.75;
  if (top.waiting.length >= 3) confidence += 0.1;
  // Ordinary contention clears in milliseconds; seconds of waiting is a stuck lock.
  if (top.longestWaitS >= 5) confidence += 0.05;
  if (idle) confidence += 0.05;
  if (!blocker) confidence -= 0.2; // the blocker is in another database or gone: less sure
  const who = blocker
    ? `pid ${top.pid} (user ${blocker.usename ?? 'unknown'}, ${state}${heldForS > 0 ? ` for ${formatSeconds(heldForS)}` : ''})`
    : `pid ${top.pid}`;
  const waiting = `${top.waiting.length} session${top.waiting.length === 1 ? '' : 's'}`;
  const query = blocker ? queryText(blocker.query) : '';
  return {
    category: 'postgres-lock',
    source: 'postgres.blocking',
    rootCause: `A Postgres session, ${who}, holds locks that ${waiting} wait on; requests that need them pile up.`,
    summary: `${who} blocks ${waiting}; the longest has waited ${formatSeconds(top.longestWaitS)}${query ? `; its last query: ${query}` : ''}`,
    facts: {
      blocker_pid: top.pid,
      waiting: top.waiting.length,
      waiting_pids: top.waiting.slice(0, 20),
      held_for_s: heldForS,
      longest_wait_s: round(top.longestWaitS),
      blocker_state: state,
      blocker_user: blocker?.usename ?? null,
      blocker_application: blocker?.applicationName ?? null,
      blocker_superuser: blocker?.superuser ?? null,
      blocker_backend_start: blocker?.backendStart ?? null,
      blocker_query: query,
      database: stats.database,
      other_root_blockers: ranked.slice(1, 6).map((r) => r.pid),
    },
    confidence: Math.min(0.95, confidence),
  };
}

/**
 * Connections in use against what Postgres will hand out: the server's usable slots
 * (max_connections less the reserved ones) or, when tighter, the database's CONNECTION LIMIT or
 * that of a role with sessions in it (a role's limit counts its sessions in every database).
 */
export function assessSaturation(stats: PostgresStats, thresholds: PostgresThresholds): Finding | undefined {
  const clients = stats.sessions.filter((s) => s.backendType === 'client backend');
  const inDatabase = clients.filter((s) => s.datname === stats.database);
  interface Scope {
    kind: 'server' | 'database' | 'role';
    scope: string;
    inUse: number;
    usable: number;
    counted: SessionRow[];
    limit: string;
    role?: string;
  }
  // The probe's own connection is not counted (it is gone once the probe is done), as the executor
  // and the verifier do not count theirs: all three agree on when a limit is taken.
  const scopes: Scope[] = [
    {
      kind: 'server',
      scope: 'server',
      inUse: clients.length,
      usable: Math.max(1, stats.maxConnections - stats.reservedConnections),
      counted: clients,
      limit: `max_connections ${stats.maxConnections}`,
    },
  ];
  // A limit of 0 closes the database on purpose (to drain it): nothing ending sessions could free.
  if (stats.databaseConnectionLimit > 0) {
    scopes.push({
      kind: 'database',
      scope: `database ${stats.database}`,
      inUse: inDatabase.length,
      usable: Math.max(1, stats.databaseConnectionLimit),
      counted: inDatabase,
      limit: `the database's CONNECTION LIMIT ${stats.databaseConnectionLimit}`,
    });
  }
  for (const role of stats.roleConnectionLimits) {
    scopes.push({
      kind: 'role',
      scope: `role ${role.role}`,
      inUse: role.connections,
      usable: Math.max(1, role.limit),
      counted: clients.filter((s) => s.usename === role.role),
      limit: `role ${role.role}'s CONNECTION LIMIT ${role.limit}`,
      role: role.role,
    });
  }
  const tightest = scopes.sort((a, b) => b.inUse / b.usable - a.inUse / a.usable)[0] as Scope;
  const ratio = tightest.inUse / tightest.usable;
  // The database refusing the probe itself is the limit seen from outside: exhausted, whatever the count says now.
  if (ratio < thresholds.saturationRatio && !stats.refused) return undefined;
  const byState = countBy(tightest.counted, (s) => s.state ?? 'unknown');
  const byApplication = countBy(tightest.counted, (s) => s.applicationName || '(no application_name)');
  const [topApplication, topCount] = Object.entries(byApplication).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  const idle = (byState['idle'] ?? 0) + (byState['idle in transaction'] ?? 0) + (byState['idle in transaction (aborted)'] ?? 0);
  const shape =
    idle >= tightest.counted.length / 2
      ? `${idle} of them idle — clients hold connections they are not using`
      : `${byState['active'] ?? 0} of them active — the server is busy or stalled`;
  const refusal = stats.refused ? `; it refused the probe's own connection ("${stats.refused}")` : '';
  return {
    category: 'postgres-connections',
    source: 'postgres.connections',
    rootCause: `Postgres connections are exhausted (${tightest.scope}): ${tightest.inUse} of ${tightest.usable} usable slots in use (${tightest.limit}); ${shape}${refusal}.`,
    summary: `${tightest.scope}: ${tightest.inUse}/${tightest.usable} connections in use (${Math.round(ratio * 100)}%); most from ${topApplication} (${topCount}); by state ${JSON.stringify(byState)}${refusal}`,
    facts: {
      connections: tightest.inUse,
      usable_connections: tightest.usable,
      max_connections: stats.maxConnections,
      database_connection_limit: stats.databaseConnectionLimit,
      limit_scope: tightest.kind,
      ...(tightest.role ? { limit_role: tightest.role } : {}),
      connection_ratio: round(ratio, 3),
      by_state: byState,
      top_application: topApplication,
      top_application_connections: topCount,
      ...(stats.refused ? { refused: stats.refused, read_from: stats.readFrom ?? null } : {}),
    },
    confidence: Math.min(0.95, Math.max(stats.refused ? 0.9 : 0, 0.7 + (ratio - thresholds.saturationRatio) * 2.5)),
  };
}

/**
 * Postgres refused the probe even on its maintenance database: nothing could be read, but the
 * refusal names the limit that is taken (a role's, a database's or the server's own slots).
 */
export function assessRefusal(refusal: PostgresRefusal): Finding {
  const role = /too many connections for role "([^"]+)"/.exec(refusal.refused)?.[1];
  const scope = role ? 'role' : /too many connections for database/.test(refusal.refused) ? 'database' : 'server';
  const where = role ? `role ${role}` : scope === 'database' ? `database ${refusal.database}` : 'server';
  return {
    category: 'postgres-connections',
    source: 'postgres.refused',
    rootCause: `Postgres refuses new connections (${where}): "${refusal.refused}"; its connection slots are taken.`,
    summary: `the probe could not connect to ${refusal.database}, nor to the server's maintenance database: "${refusal.refused}"`,
    facts: { refused: refusal.refused, limit_scope: scope, ...(role ? { limit_role: role } : {}), database: refusal.database },
    confidence: 0.8,
  };
}

/** Sessions that opened a transaction and went quiet: they hold locks, slots and vacuum back. */
export function assessIdleInTransaction(stats: PostgresStats, thresholds: PostgresThresholds): Finding | undefined {
  const idle = stats.sessions
    .filter((s) => s.datname === stats.database && isIdleInTransaction(s.state) && (s.stateAgeS ?? 0) >= thresholds.idleInTransactionMinS)
    .sort((a, b) => (b.stateAgeS ?? 0) - (a.stateAgeS ?? 0));
  const oldest = idle[0];
  if (!oldest) return undefined;
  const idleForS = round(oldest.stateAgeS ?? 0);
  return {
    category: 'postgres-idle',
    source: 'postgres.idle_in_transaction',
    rootCause: `${idle.length} Postgres session${idle.length === 1 ? ' has' : 's have'} been idle in a transaction for over ${formatSeconds(thresholds.idleInTransactionMinS)} (the oldest, pid ${oldest.pid}, for ${formatSeconds(idleForS)}): a client opened a transaction and stopped talking.`,
    summary: `${idle.length} idle in transaction; oldest pid ${oldest.pid} (user ${oldest.usename ?? 'unknown'}, ${oldest.applicationName || 'no application_name'}) for ${formatSeconds(idleForS)}; its last query: ${queryText(oldest.query)}`,
    facts: {
      idle_pid: oldest.pid,
      idle_for_s: idleForS,
      idle_count: idle.length,
      idle_pids: idle.slice(0, 20).map((s) => s.pid),
      idle_user: oldest.usename,
      idle_query: queryText(oldest.query),
      // The threshold the sessions passed: a fix ends exactly those found, not younger ones.
      idle_threshold_s: thresholds.idleInTransactionMinS,
    },
    confidence: Math.min(0.9, 0.65 + 0.05 * Math.min(idle.length, 3) + (idleForS >= 300 ? 0.05 : 0)),
  };
}

/** Every Postgres finding, and what was seen when there was none. */
export function assessPostgres(
  stats: PostgresStats | PostgresRefusal,
  thresholds: PostgresThresholds,
): { findings: Finding[]; observation: string } {
  if (!stats.sessions) {
    return { findings: [assessRefusal(stats)], observation: `database ${stats.database}: refused every connection ("${stats.refused}")` };
  }
  const findings = [
    assessBlocking(stats, thresholds),
    assessSaturation(stats, thresholds),
    assessIdleInTransaction(stats, thresholds),
  ].filter((f): f is Finding => f !== undefined);
  const clients = stats.sessions.filter((s) => s.backendType === 'client backend').length + 1;
  const waiting = stats.sessions.filter((s) => s.datname === stats.database && s.blockedBy.length > 0).length;
  const idle = stats.sessions.filter((s) => s.datname === stats.database && isIdleInTransaction(s.state)).length;
  const via = stats.refused ? ` (read from ${stats.readFrom ?? 'the maintenance database'}: the database refused the probe)` : '';
  const observation = `database ${stats.database}: ${clients}/${stats.maxConnections - stats.reservedConnections} usable connections in use, ${waiting} session(s) waiting on a lock, ${idle} idle in transaction${via}`;
  return { findings, observation };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
