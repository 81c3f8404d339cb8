import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (deploy/ sits one level below it). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const readText = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

export interface AppPackage {
  /** The directory name under apps/ (also the service's name). */
  name: string;
  scripts: Record<string, string>;
  tags: string[];
}

/** Every package under apps/, as its package.json describes it. */
export function appPackages(): AppPackage[] {
  return readdirSync(join(repoRoot, 'apps'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, 'apps', entry.name, 'package.json')))
    .map((entry) => {
      const pkg = JSON.parse(readText(`apps/${entry.name}/package.json`)) as { scripts?: Record<string, string>; nx?: { tags?: string[] } };
      return { name: entry.name, scripts: pkg.scripts ?? {}, tags: pkg.nx?.tags ?? [] };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The services: apps tagged `type:app` that run as a process of their own (`src/main.ts`) and
 * serve HTTP. The CLI is a `type:app` without a service; the engine (`type:engine`) composes them.
 */
export function serviceApps(): string[] {
  return appPackages()
    .filter((app) => app.tags.includes('type:app') && existsSync(join(repoRoot, 'apps', app.name, 'src', 'definition.ts')))
    .map((app) => app.name);
}

/**
 * The services `vigil up` and `vigil up --split` start, read from the engine's `services` list
 * (`orchestratorService` → `orchestrator`), in start order.
 */
export function engineServices(): string[] {
  const source = readText('apps/engine/src/engine.ts');
  const list = /export const services[^=]*=\s*\[([^\]]*)\]/.exec(source);
  if (!list) throw new Error('apps/engine/src/engine.ts: no `export const services = [...]` list found');
  return [...(list[1] ?? '').matchAll(/(\w+)Service\b/g)].map((match) => match[1] ?? '');
}

/** What a service's code opens: a store (Postgres) and/or a cache (Redis), from its definition. */
export function serviceInfrastructure(app: string): { postgres: boolean; redis: boolean } {
  const source = readText(`apps/${app}/src/definition.ts`);
  return { postgres: /\bopenStore\(/.test(source), redis: /\bopenCache\(/.test(source) };
}

/** The port a service listens on by default: `<APP>_PORT: env.port(N)` in its config. */
export function servicePort(app: string): number {
  const source = readText(`apps/${app}/src/config.ts`);
  const match = new RegExp(`${app.toUpperCase()}_PORT:\\s*env\\.port\\((\\d+)\\)`).exec(source);
  if (!match) throw new Error(`apps/${app}/src/config.ts: no ${app.toUpperCase()}_PORT: env.port(N)`);
  return Number(match[1]);
}

/**
 * The environment variables a service reads: the keys of its configuration shape
 * (`apps/<app>/src/config.ts`, export `<app>Config`), loaded as the service loads it — only that
 * module, not the whole service with its vendor SDKs.
 */
export async function configNames(app: string): Promise<Set<string>> {
  const file = join(repoRoot, 'apps', app, 'src', 'config.ts');
  const module = (await import(file)) as Record<string, unknown>;
  const shape = module[`${app}Config`];
  if (typeof shape !== 'object' || shape === null) throw new Error(`apps/${app}/src/config.ts exports no ${app}Config`);
  return new Set(Object.keys(shape));
}

/** Names in `used` that are not in `known`, for error messages. */
export const unknownNames = (used: Iterable<string>, known: Set<string>): string[] => [...used].filter((name) => !known.has(name));
