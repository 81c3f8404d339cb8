import { appPackages, configNames, serviceApps, serviceInfrastructure, servicePort } from './repo.js';

export interface Facts {
  services: string[];
  config: Record<string, Set<string>>;
  infrastructure: Record<string, { postgres: boolean; redis: boolean }>;
  ports: Record<string, number>;
  startScript: Record<string, string>;
}

/** What the code says about each service: the variables it reads, what it opens, its port, its start script. */
export async function loadFacts(): Promise<Facts> {
  const services = serviceApps();
  const packages = appPackages();
  const config: Record<string, Set<string>> = {};
  for (const app of services) config[app] = await configNames(app);
  return {
    services,
    config,
    infrastructure: Object.fromEntries(services.map((app) => [app, serviceInfrastructure(app)])),
    ports: Object.fromEntries(services.map((app) => [app, servicePort(app)])),
    startScript: Object.fromEntries(packages.map((p) => [p.name, p.scripts.start ?? ''])),
  };
}
