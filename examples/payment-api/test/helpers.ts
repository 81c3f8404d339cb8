import type { FastifyInstance } from 'fastify';
import type { FaultDatabase } from '@vigil/testing';
import { buildApp } from '../src/app.js';
import { createPgliteStore } from '../src/pglite-store.js';
import { createPostgresStore, type PostgresStoreOptions } from '../src/postgres-store.js';

/** The fault database's URL as its ordinary role (the app's login), not the administrator's. */
export function roleUrl(db: FaultDatabase): string {
  const url = new URL(db.dsn);
  url.username = db.role;
  url.password = '';
  return url.toString();
}

export interface RunningApp {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance): Promise<RunningApp> {
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, close: () => app.close() };
}

export async function startOnPostgres(url: string, options: Partial<PostgresStoreOptions> = {}): Promise<RunningApp> {
  const store = await createPostgresStore({
    url,
    poolMax: 10,
    connectTimeoutMs: 2000,
    idleTimeoutMs: 10_000,
    statementTimeoutMs: 15_000,
    healthLockTimeoutMs: 300,
    checkoutLockTimeoutMs: 300,
    ...options,
  });
  return listen(buildApp({ store, logLevel: 'silent' }));
}

export async function startOnPglite(): Promise<RunningApp> {
  return listen(buildApp({ store: await createPgliteStore({}), logLevel: 'silent' }));
}

export const pay = (base: string, form: Record<string, string>): Promise<Response> =>
  fetch(`${base}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });

export async function health(base: string): Promise<{ status: number; body: { ok: boolean; error?: string; failure?: string } }> {
  const response = await fetch(`${base}/health`);
  return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string; failure?: string } };
}
