import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { VigilError } from '@vigil/errors';
import { loadConfig } from '@vigil/platform';
import { cliConfig } from '../config.js';

async function post<T>(base: string, path: string, body: unknown): Promise<{ status: number; json: T }> {
  let response: Response;
  try {
    response = await fetch(new URL(path, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new VigilError('MEMORY_UNREACHABLE', `cannot reach memory at ${base} (set MEMORY_URL): ${(error as Error).message}`);
  }
  return { status: response.status, json: (await response.json()) as T };
}

export function runbooksCommand(): Command {
  const runbooks = new Command('runbooks').description("the knowledge base: add runbooks and search them (talks to memory's API)");
  runbooks
    .command('ingest')
    .description(
      'add or update every *.md runbook of a directory (idempotent); stops at the first invalid one, naming file, field and reason',
    )
    .argument('<dir>', 'a directory of Markdown runbooks with YAML front matter')
    .action(async (dir: string) => {
      const { MEMORY_URL } = loadConfig(cliConfig);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
      if (files.length === 0) throw new VigilError('USAGE', `no *.md files in ${dir}`);
      for (const file of files) {
        const { status, json } = await post<{ id?: string; outcome?: string; problems?: string[] }>(MEMORY_URL, '/runbooks', {
          source: file,
          markdown: await readFile(join(dir, file), 'utf8'),
        });
        if (status >= 400) throw new VigilError('RUNBOOK_INVALID', (json.problems ?? [`${file}: HTTP ${status}`]).join('\n'));
        process.stdout.write(`${json.outcome?.padEnd(9)} ${json.id}  (${file})\n`);
      }
    });
  runbooks
    .command('search')
    .description('runbooks and past incidents matching a text, best first, with score and cited section (an incident with its standing)')
    .argument('<query>', 'what is happening, in words')
    .option('--service <name>', 'the affected service')
    .option('--alert <name>', 'the alert name')
    .option('--limit <n>', 'at most this many', '5')
    .option('--json', 'print JSON')
    .action(async (query: string, options: { service?: string; alert?: string; limit: string; json?: boolean }) => {
      const { MEMORY_URL } = loadConfig(cliConfig);
      const { status, json } = await post<{
        matches?: Array<{
          score: number;
          standing?: string;
          citation: { documentId: string; kind?: string; title: string; section?: string; lines?: [number, number] };
        }>;
        error?: string;
      }>(MEMORY_URL, '/search', {
        query,
        limit: Number(options.limit),
        ...(options.service ? { service: options.service } : {}),
        ...(options.alert ? { alertName: options.alert } : {}),
      });
      if (status >= 400) throw new VigilError(`HTTP_${status}`, json.error ?? 'search failed');
      if (options.json) return void process.stdout.write(`${JSON.stringify(json.matches, null, 2)}\n`);
      for (const m of json.matches ?? []) {
        const where = m.citation.section
          ? ` §${m.citation.section}${m.citation.lines ? ` (lines ${m.citation.lines[0]}–${m.citation.lines[1]})` : ''}`
          : '';
        // A past incident says whether its fix held: proven, candidate (still in its window) or ineffective.
        const standing = m.citation.kind === 'incident' ? `  [past incident, ${m.standing ?? 'unknown'}]` : '';
        process.stdout.write(`${m.score.toFixed(3)}  ${m.citation.documentId}  ${m.citation.title}${where}${standing}\n`);
      }
    });
  return runbooks;
}
