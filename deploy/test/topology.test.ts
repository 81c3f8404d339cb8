import { describe, expect, it } from 'vitest';
import { appPackages, engineServices, serviceApps } from '../src/repo.js';

describe('which apps are services', () => {
  it('every app with a service definition is one the engine starts, and the other way round', () => {
    expect(serviceApps()).toEqual([...engineServices()].sort());
  });

  it('the CLI and the engine are apps but not services', () => {
    const all = appPackages().map((app) => app.name);
    const services = serviceApps();
    expect(all.filter((name) => !services.includes(name)).sort()).toEqual(['cli', 'engine']);
  });

  it('reads the engine list itself, so a service added to apps/ but not to the engine is noticed', () => {
    expect(engineServices()).toHaveLength(8);
    expect(engineServices()[0]).toBe('orchestrator');
    expect(engineServices().at(-1)).toBe('ingest');
  });
});
