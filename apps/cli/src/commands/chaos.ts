import { Command } from 'commander';
import { VigilError } from '@vigil/errors';
import type { Fault } from './chaos-postgres.js';
import { listChaosProcesses, registerChaosProcess, stopChaosProcess } from './chaos-registry.js';

/** The faults, and whether Vigil is expected to heal each alone. */
export const scenarios = {
  'pg-lock': 'a transaction holds the row lock every checkout needs, as the app role; checkouts queue and time out (Vigil heals it)',
  'pool-exhaustion': "idle connections take every slot of the app role's (or database's) CONNECTION LIMIT (Vigil heals it)",
  'idle-in-transaction': 'sessions open a transaction and go quiet, holding connections and snapshots (Vigil heals it)',
  'superuser-lock': 'the pg-lock fault held by a superuser session: the executor refuses to touch it, so Vigil escalates',
  ambiguous: 'pg-lock and a full Redis at once, in unrelated systems: no single fix explains both, so Vigil escalates',
} as const;
type Scenario = keyof typeof scenarios;

const isScenario = (name: string): name is Scenario => Object.hasOwn(scenarios, name);
const usage = (message: string): VigilError => new VigilError('USAGE', message);

interface ChaosOptions {
  databaseUrl?: string;
  redisUrl?: string;
  hold: string;
  waiters: string;
  sessions: string;
  connections?: string;
  stop?: boolean;
}

function integer(option: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max)
    throw usage(`${option} must be a whole number from ${min} to ${max} (got "${raw}")`);
  return value;
}

function urlOption(option: string, raw: string | undefined, envName: string, protocols: string[]): string | undefined {
  const value = raw ?? (process.env[envName] || undefined);
  if (value === undefined) return undefined;
  let protocol: string;
  try {
    protocol = new URL(value).protocol.replace(/:$/, '');
  } catch {
    throw usage(`${option} (or ${envName}) is not a URL`);
  }
  if (!protocols.includes(protocol)) throw usage(`${option} (or ${envName}) must be a ${protocols.join(' or ')} URL, not ${protocol}:`);
  return value;
}

const emit = (line: Record<string, unknown>): void =>
  void process.stdout.write(`${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);

// The database and Redis clients load only when chaos runs, so every other vigil command starts without them.
const postgresFaults = () => import('./chaos-postgres.js');
const redisFaults = () => import('./chaos-redis.js');

async function makeFault(scenario: Scenario, databaseUrl: string, redisUrl: string | undefined, options: ChaosOptions): Promise<Fault> {
  const waiters = integer('--waiters', options.waiters, 0, 50);
  const { exhaustConnections, idleInTransaction, lockHotRow } = await postgresFaults();
  switch (scenario) {
    case 'pg-lock':
      return lockHotRow(databaseUrl, { scenario, superuser: false, waiters });
    case 'superuser-lock':
      return lockHotRow(databaseUrl, { scenario, superuser: true, waiters });
    case 'idle-in-transaction':
      return idleInTransaction(databaseUrl, { sessions: integer('--sessions', options.sessions, 1, 50) });
    case 'pool-exhaustion':
      return exhaustConnections(databaseUrl, {
        connections: options.connections === undefined ? undefined : integer('--connections', options.connections, 1, 500),
        fillTimeoutMs: 30_000,
      });
    case 'ambiguous': {
      if (redisUrl === undefined)
        throw usage('ambiguous also fills a Redis: pass --redis-url (or set REDIS_URL) to one with a low maxmemory');
      // Redis is checked before the lock is taken, so a refused Redis leaves no fault behind.
      const redis = await (await redisFaults()).prepareRedisFill(redisUrl);
      let lock: Fault;
      try {
        lock = await lockHotRow(databaseUrl, { scenario, superuser: false, waiters });
      } catch (error) {
        await redis.close();
        throw error;
      }
      let fill: Fault;
      try {
        fill = await redis.fill();
      } catch (error) {
        await lock.release();
        throw error;
      }
      return {
        report: { ...lock.report, redis: fill.report },
        sessions: lock.sessions,
        // The lock alone going away does not end an ambiguous fault: Redis stays full until released.
        ended: new Promise<string>(() => undefined),
        release: async () => void (await Promise.all([lock.release(), fill.release()])),
      };
    }
  }
}

/** Holds the fault until it ends from outside, --hold runs out, or SIGINT/SIGTERM; then releases it. */
async function holdFault(scenario: Scenario, fault: Fault, holdS: number): Promise<void> {
  let releasing = false;
  for (const session of fault.sessions) {
    void session.ended.then(() => releasing || emit({ event: 'session-ended', scenario, pid: session.pid }));
  }
  let timer: NodeJS.Timeout | undefined;
  const signals: Array<[NodeJS.Signals, () => void]> = [];
  const outcome = await new Promise<{ event: string; reason: string }>((resolve) => {
    timer = setTimeout(() => resolve({ event: 'released', reason: `held for ${holdS}s` }), holdS * 1000);
    // Kept until the end: Ctrl-C reaches both bin/vigil.js and us, and a second SIGINT must not kill us mid-release.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => resolve({ event: 'released', reason: signal });
      process.on(signal, handler);
      signals.push([signal, handler]);
    }
    void fault.ended.then((reason) => resolve({ event: 'fault-ended', reason }));
  });
  releasing = true;
  clearTimeout(timer);
  await fault.release();
  emit({ event: outcome.event, scenario, reason: outcome.reason });
  for (const [signal, handler] of signals) process.off(signal, handler);
}

/**
 * Local chaos processes first (SIGTERM: each releases its own fault), then whatever sessions or
 * keys are left — from a run that was killed outright, or one on another machine.
 */
async function stop(scenario: Scenario | undefined, databaseUrl: string | undefined, redisUrl: string | undefined): Promise<void> {
  for (const entry of listChaosProcesses(scenario)) {
    const exited = await stopChaosProcess(entry);
    emit({ event: exited ? 'stopped' : 'still-running', process: entry.pid, scenario: entry.scenario });
    if (!exited) throw new VigilError('CHAOS_STOP_FAILED', `vigil chaos ${entry.scenario} (pid ${entry.pid}) did not exit after SIGTERM`);
  }
  if (databaseUrl !== undefined) {
    const { stopChaosSessions } = await postgresFaults();
    emit({ event: 'stopped', ...(scenario ? { scenario } : {}), ...(await stopChaosSessions(databaseUrl, scenario)) });
  }
  if (redisUrl !== undefined && (scenario === undefined || scenario === 'ambiguous')) {
    const { stopRedisFill } = await redisFaults();
    emit({ event: 'stopped', ...(await stopRedisFill(redisUrl)) });
  }
}

export function chaosCommand(): Command {
  const list = Object.entries(scenarios)
    .map(([name, what]) => `  ${name.padEnd(20)} ${what}`)
    .join('\n');
  return new Command('chaos')
    .description(
      "makes a real fault in payment-api's database and holds it, printing what it did as JSON lines; `vigil chaos stop` ends what another run left",
    )
    .argument('<scenario>', `one of ${Object.keys(scenarios).join(', ')}; or stop`)
    .option(
      '--database-url <url>',
      "payment-api's PostgreSQL as its ordinary role (default: PAYMENT_DATABASE_URL); a superuser's for superuser-lock",
    )
    .option('--redis-url <url>', 'ambiguous: a Redis of its own with a low maxmemory to fill (default: REDIS_URL)')
    .option('--hold <seconds>', 'release the fault after this long (or on Ctrl-C)', '600')
    .option('--waiters <n>', 'lock scenarios: sessions queued behind the lock, as piled-up checkouts', '3')
    .option('--sessions <n>', 'idle-in-transaction: how many sessions', '3')
    .option('--connections <n>', 'pool-exhaustion: how many connections (default: the CONNECTION LIMIT of the role, else of the database)')
    .option('--stop', "end this scenario's sessions (left by another vigil chaos) instead of making the fault")
    .addHelpText(
      'after',
      `\nScenarios:\n${list}\n\nNeeds real PostgreSQL: a payment-api on embedded PGlite cannot be reached from outside.`,
    )
    .action(async (name: string, options: ChaosOptions) => {
      if (name !== 'stop' && !isScenario(name))
        throw usage(`unknown scenario "${name}"; one of:\n${list}\n  ${'stop'.padEnd(20)} end what another run left`);
      const databaseUrl = urlOption('--database-url', options.databaseUrl, 'PAYMENT_DATABASE_URL', ['postgres', 'postgresql']);
      // REDIS_URL may be set for Vigil itself: read only where a Redis is part of the job.
      const wantsRedis = name === 'stop' || name === 'ambiguous' || options.redisUrl !== undefined;
      const redisUrl = wantsRedis ? urlOption('--redis-url', options.redisUrl, 'REDIS_URL', ['redis', 'rediss']) : undefined;
      if (name === 'stop' || options.stop) return stop(name === 'stop' ? undefined : (name as Scenario), databaseUrl, redisUrl);
      const scenario = name as Scenario;
      const holdS = integer('--hold', options.hold, 1, 86_400);
      if (databaseUrl === undefined) {
        throw usage(
          `${scenario} needs payment-api's PostgreSQL: pass --database-url or set PAYMENT_DATABASE_URL (a payment-api on embedded PGlite cannot be faulted from outside)`,
        );
      }
      const fault = await makeFault(scenario, databaseUrl, redisUrl, options);
      const unregister = registerChaosProcess(scenario);
      try {
        emit({ event: 'fault', scenario, ...fault.report, hold_s: holdS });
        await holdFault(scenario, fault, holdS);
      } finally {
        unregister();
      }
    });
}
