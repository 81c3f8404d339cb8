import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { checkSchemaName, type Db, type Queryable, type QueryResult } from './port.js';
import type { PgliteOptions } from './pglite.js';

/**
 * The embedded store on a thread of its own. PGlite runs Postgres in WASM on the thread that calls
 * it, about 300 µs of CPU for an ordinary statement: in `vigil up`, where every service shares one
 * event loop, the engine spent more time inside PGlite than in its own code. Here each store's
 * PGlite runs in a worker thread, so on a machine with a second core the database and the engine
 * work at once. Same port, same semantics: one connection, one transaction at a time (PGlite's own
 * lock), errors with Postgres's fields (`code`, `constraint`, …) as the driver gives them.
 *
 * The worker is plain JavaScript evaluated from a string, so it runs the same from the TypeScript
 * sources (tsx, vitest) and from the compiled `dist/`: it loads PGlite from the path this module
 * resolves.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const serialize = (error) => {
  const out = { message: error && error.message ? error.message : String(error), name: error && error.name };
  if (error && typeof error === 'object') for (const key of Object.keys(error)) {
    const value = error[key];
    if (value === undefined || typeof value === 'function') continue;
    if (typeof value !== 'object' || value === null) out[key] = value;
  }
  return out;
};
(async () => {
  const { PGlite } = await import(workerData.pglite);
  const db = workerData.dataDir === undefined ? new PGlite() : new PGlite(workerData.dataDir);
  await db.waitReady;
  await db.exec('CREATE SCHEMA IF NOT EXISTS ' + workerData.schema + '; SET search_path TO ' + workerData.schema + ';');
  const transactions = new Map();
  const targetOf = (tx) => (tx === undefined ? db : transactions.get(tx).tx);
  parentPort.on('message', async (message) => {
    const { id, op } = message;
    try {
      if (op === 'query') {
        const result = await targetOf(message.tx).query(message.sql, message.params);
        parentPort.postMessage({ id, rows: result.rows, rowCount: result.affectedRows ?? result.rows.length });
      } else if (op === 'exec') {
        await targetOf(message.tx).exec(message.sql);
        parentPort.postMessage({ id });
      } else if (op === 'begin') {
        // PGlite's transaction() holds its lock until the callback settles: the callback waits for
        // the main thread's commit or rollback. Other queries queue behind it, as they would.
        let finish;
        let started = false;
        const done = new Promise((resolve, reject) => (finish = { resolve, reject }));
        db.transaction(async (tx) => {
          started = true;
          transactions.set(message.tx, { tx, finish });
          parentPort.postMessage({ id });
          await done;
        }).then(
          () => {
            transactions.delete(message.tx);
            parentPort.postMessage({ id: message.endId });
          },
          (error) => {
            transactions.delete(message.tx);
            const rolledBack = error && error.vigilRollback;
            // A transaction that never began answers 'begin' with the error; one that did, its end.
            if (!started) parentPort.postMessage({ id, error: serialize(error) });
            else parentPort.postMessage(rolledBack ? { id: message.endId } : { id: message.endId, error: serialize(error) });
          },
        );
      } else if (op === 'end') {
        const open = transactions.get(message.tx);
        if (message.commit) open.finish.resolve();
        else open.finish.reject(Object.assign(new Error('rollback'), { vigilRollback: true }));
      } else if (op === 'close') {
        await db.close();
        parentPort.postMessage({ id });
      }
    } catch (error) {
      parentPort.postMessage({ id, error: serialize(error) });
    }
  });
  parentPort.postMessage({ id: 0 });
})().catch((error) => parentPort.postMessage({ id: 0, error: serialize(error) }));
`;

interface Reply {
  id: number;
  rows?: unknown[];
  rowCount?: number;
  error?: Record<string, unknown> & { message: string };
}

/** An error from the worker, with the fields Postgres gave it (`code`, `detail`, `constraint`, …). */
function revive(error: Reply['error'] & object): Error {
  const revived = new Error(error.message);
  for (const [key, value] of Object.entries(error))
    if (key !== 'message' && key !== 'stack') (revived as unknown as Record<string, unknown>)[key] = value;
  return revived;
}

export async function createPgliteThreadDb(options: PgliteOptions = {}): Promise<Db> {
  const schema = checkSchemaName(options.schema ?? 'public');
  const pglite = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pglite, dataDir: options.dataDir, schema } });
  // Like PGlite on the caller's thread, the store alone does not keep the process alive.
  worker.unref();
  const pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let closed = false;
  let failure: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => pending.set(0, { resolve: () => resolve(), reject }));
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error) waiter.reject(revive(reply.error));
    else waiter.resolve(reply);
  });
  const fail = (error: Error): void => {
    failure = error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('error', (error) => fail(new Error(`the PGlite thread failed: ${error.message}`, { cause: error })));
  worker.on('exit', (code) => {
    if (!closed) fail(new Error(`the PGlite thread exited (code ${code})`));
  });
  const ask = (message: Record<string, unknown>, id = nextId++): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    if (closed) return Promise.reject(new Error('PGlite closed'));
    return new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  };
  await ready;

  const queryable = (tx?: number): Queryable => ({
    async query<R extends object>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const reply = await ask({ op: 'query', sql, params, tx });
      return { rows: (reply.rows ?? []) as R[], rowCount: reply.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await ask({ op: 'exec', sql, tx });
    },
  });
  const root = queryable();
  return {
    kind: 'pglite',
    schema,
    query: root.query,
    exec: root.exec,
    async transaction(fn) {
      const tx = nextId++;
      const endId = nextId++;
      // The transaction's end is answered under its own id, once PGlite has committed or rolled back.
      const ended = new Promise<Reply>((resolve, reject) => pending.set(endId, { resolve, reject }));
      ended.catch(() => undefined);
      try {
        await ask({ op: 'begin', tx, endId });
      } catch (error) {
        pending.delete(endId);
        throw error;
      }
      let result;
      try {
        result = await fn(queryable(tx));
      } catch (error) {
        worker.postMessage({ op: 'end', tx, commit: false });
        await ended.catch(() => undefined);
        throw error;
      }
      worker.postMessage({ op: 'end', tx, commit: true });
      await ended;
      return result;
    },
    async health() {
      return closed || failure
        ? { ok: false, detail: failure?.message ?? 'PGlite closed' }
        : { ok: true, detail: `PGlite ${options.dataDir ?? 'in memory'} (own thread)` };
    },
    async close() {
      if (closed) return;
      await ask({ op: 'close' }).catch(() => undefined);
      closed = true;
      await worker.terminate();
    },
  };
}
