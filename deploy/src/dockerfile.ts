/** The instructions of a Dockerfile, stage by stage (continuation lines joined, comments dropped). */
export interface Stage {
  from: string;
  name?: string;
  instructions: Array<{ op: string; args: string }>;
}

export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!match) throw new Error(`Dockerfile: cannot read FROM ${args}`);
      stages.push({ from: match[1] ?? '', ...(match[2] ? { name: match[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (op.toUpperCase() !== 'ARG') throw new Error(`Dockerfile: ${op} before the first FROM`);
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** What is wrong with the Dockerfile against the apps' start scripts (empty: nothing). */
export function dockerfileProblems(
  text: string,
  apps: Array<{ name: string; scripts: Record<string, string> }>,
  args: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push('Dockerfile: not multi-stage');
  const final = stages.at(-1);
  if (!final) return ['Dockerfile: no stage'];
  const resolve = (value: string): string =>
    value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? `\${${a ?? b}}`);
  for (const stage of stages) {
    const image = resolve(stage.from);
    if (stages.some((s) => s.name === image)) continue;
    if (!/^node:20[\w.-]*-slim$/.test(image))
      problems.push(`Dockerfile: stage ${stage.name ?? '(unnamed)'} is based on ${image}, not node:20 slim`);
  }
  if (!stages.some((s) => s.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args))))
    problems.push('Dockerfile: dependencies are not installed with npm ci');
  const user = final.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
  if (!user || /^(0|root)(:|$)/.test(user)) problems.push(`Dockerfile: the final stage runs as ${user ?? 'root (no USER)'}`);
  const cmdLine = final.instructions.filter((i) => i.op === 'CMD').at(-1)?.args;
  let cmd: string[] | undefined;
  try {
    cmd = cmdLine ? (JSON.parse(cmdLine) as string[]) : undefined;
  } catch {
    problems.push(`Dockerfile: CMD is not in exec form: ${cmdLine}`);
  }
  if (!cmd) problems.push('Dockerfile: no CMD');
  const build = stages.flatMap((s) => s.instructions).find((i) => i.op === 'RUN' && /nx run-many -t build/.test(i.args))?.args ?? '';
  const built = /--projects=(\S+)/.exec(build)?.[1]?.split(',') ?? [];
  for (const app of apps) {
    const start = app.scripts.start;
    if (!start) problems.push(`apps/${app.name}/package.json: no start script`);
    else if (cmd && cmd.join(' ') !== start)
      problems.push(`Dockerfile: CMD "${cmd.join(' ')}" is not apps/${app.name}'s start script "${start}"`);
    if (!built.includes(app.name)) problems.push(`Dockerfile: ${app.name} is not built (nx run-many -t build --projects=…)`);
  }
  const workdir = resolve(final.instructions.filter((i) => i.op === 'WORKDIR').at(-1)?.args ?? '');
  if (!/^\/app\/apps\/[\w-]+$/.test(workdir)) problems.push(`Dockerfile: the final WORKDIR ${workdir} is no app's directory`);
  return problems;
}

/** The default value of each ARG in the Dockerfile. */
export function dockerfileArgs(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^ARG\s+(\w+)=(\S+)/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}
