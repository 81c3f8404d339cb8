import { describe, expect, it } from 'vitest';
import { dockerfileArgs, dockerfileProblems, parseDockerfile } from '../src/dockerfile.js';
import { appPackages, readText, serviceApps } from '../src/repo.js';

const dockerfile = readText('Dockerfile');
const services = appPackages().filter((app) => serviceApps().includes(app.name));

describe('the Dockerfile', () => {
  it('is multi-stage on node:20 slim, installs with npm ci, builds every service, runs as a non-root user', () => {
    expect(dockerfileProblems(dockerfile, services, dockerfileArgs(dockerfile))).toEqual([]);
    expect(parseDockerfile(dockerfile).map((stage) => stage.name)).toEqual(['build', 'runtime']);
  });

  it("runs exactly each service's own start script from its package.json", () => {
    const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1];
    const start = JSON.parse(cmd!).join(' ');
    for (const app of services) expect(app.scripts.start, app.name).toBe(start);
  });

  it('names the app whose start script differs from the image command', () => {
    const changed = services.map((app) =>
      app.name === 'memory' ? { ...app, scripts: { ...app.scripts, start: 'node dist/other.js' } } : app,
    );
    expect(dockerfileProblems(dockerfile, changed, dockerfileArgs(dockerfile))).toEqual([
      `Dockerfile: CMD "node dist/main.js" is not apps/memory's start script "node dist/other.js"`,
    ]);
  });

  it('names a service the build leaves out and a root user', () => {
    const text = dockerfile.replace(',verifier,', ',').replace('USER 1000:1000', 'USER root');
    const problems = dockerfileProblems(text, services, dockerfileArgs(text));
    expect(problems).toContain('Dockerfile: verifier is not built (nx run-many -t build --projects=…)');
    expect(problems).toContain('Dockerfile: the final stage runs as root');
  });

  it('keeps installed modules, build output and secrets out of the build context', () => {
    const ignored = readText('.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.env', '.git']) expect(ignored).toContain(entry);
  });
});
