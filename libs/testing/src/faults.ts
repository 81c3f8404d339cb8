import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import pg from 'pg';
import { databaseUrl, uniqueName } from './infra.js';
import { freePort } from './process.js';
import { eventually } from './wait.js';

/**
 * Real faults for the probes to find: a database of its own on the local Postgres (so lock
 * waits and connection limits touch no other test), an owned redis-server with a tiny
 * maxmemory, and HTTP servers that fail or never answer.
 */
export interface FaultDatabase {
  /** The administrator's DSN for this database (a superuser here). */
  dsn: string;
  name: string;
  /** The ordinary role the fault sessions log in as (owner of the database). */
  role: string;
  /** A new connection to the fault database (closed by `drop`). */
  connect(applicationName?: string): Promise<pg.Client>;
  /** One statement as the administrator (a superuser: no connection limit applies), on the maintenance database. */
  admin(sql: string): Promise<void>;
  /**
   * A DSN for the database as an ordinary monitoring role (pg_monitor, not a superuser: connection
   * limits apply to it as to a service's own probe DSN); the role is dropped by `drop`.
   */
  probeDsn(): Promise<string>;
  drop(): Promise<void>;
}

export async function createFaultDatabase(connectionLimit = -1): Promise<FaultDatabase> {
  const admin = new URL(await databaseUrl());
  const name = uniqueName('probe')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const root = new pg.Client({ connectionString: admin.toString() });
  await root.connect();
  // The sessions the faults are made of belong to an ordinary role, as an application's would.
  const role = `${name}_app`;
  await root.query(`CREATE ROLE ${role} LOGIN`);
  await root.query(`CREATE DATABASE ${name} OWNER ${role} CONNECTION LIMIT ${connectionLimit}`);
  await root.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const dsn = url.toString();
  const clients: pg.Client[] = [];
  const maintenance = new URL(admin);
  maintenance.pathname = '/postgres';
  const asAdmin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: maintenance.toString() });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const probeRole = `${name}_probe`;
  let probe: Promise<string> | undefined;
  return {
    dsn,
    name,
    role,
    admin: asAdmin,
    probeDsn() {
      probe ??= asAdmin(`CREATE ROLE ${probeRole} LOGIN IN ROLE pg_monitor`).then(() => {
        const url = new URL(dsn);
        url.username = probeRole;
        return url.toString();
      });
      return probe;
    },
    async connect(applicationName = 'payment-api') {
      const asRole = new URL(dsn);
      asRole.username = role;
      asRole.password = '';
      const client = new pg.Client({ connectionString: asRole.toString(), application_name: applicationName });
      client.on('error', () => undefined);
      await client.connect();
      clients.push(client);
      return client;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      const cleanup = new pg.Client({ connectionString: admin.toString() });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.query(`DROP ROLE IF EXISTS ${role}`);
      await cleanup.query(`DROP ROLE IF EXISTS ${probeRole}`);
      await cleanup.end();
    },
  };
}

/** Holds a row lock in one session and makes `waiters` more sessions queue behind it. */
export async function makeLockPileUp(db: FaultDatabase, waiters: number): Promise<{ blockerPid: number; release(): Promise<void> }> {
  const setup = await db.connect('setup');
  await setup.query('CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, status text)');
  await setup.query("INSERT INTO orders VALUES (7, 'new') ON CONFLICT DO NOTHING");
  const blocker = await db.connect('payment-api');
  const { rows } = await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await blocker.query('BEGIN');
  await blocker.query("UPDATE orders SET status = 'held' WHERE id = 7");
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < waiters; i += 1) {
    const waiter = await db.connect('payment-api');
    pending.push(waiter.query("UPDATE orders SET status = 'paid' WHERE id = 7").catch(() => undefined));
  }
  await eventually(async () => {
    const { rows: waiting } = await setup.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    return waiting[0]?.n === waiters ? true : undefined;
  });
  const blockerPid = rows[0]?.pid;
  if (blockerPid === undefined) throw new Error('the blocking session has no pid');
  return {
    blockerPid,
    async release() {
      // A blocker already terminated (the fix under test) cannot roll back; its waiters still
      // finish, and they are what a caller reads next.
      await blocker.query('ROLLBACK').catch(() => undefined);
      await Promise.all(pending);
    },
  };
}

export interface OwnedRedis {
  url: string;
  stop(): Promise<void>;
}

/** A redis-server of our own (the shared one must keep its settings). */
export async function startOwnedRedis(args: string[] = []): Promise<OwnedRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const accepts = () =>
    new Promise<true | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(undefined));
    });
  await eventually(accepts);
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** An HTTP server answering every request with `status` after `delayMs`. */
export async function startHealthServer(status: number, delayMs = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 400 ? 'ok' : 'failing'), delayMs).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/health`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port that accepts connections and never says a word: every client times out. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
