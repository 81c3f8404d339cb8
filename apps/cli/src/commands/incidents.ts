import { readFile, writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { verifyChain, type ChainHead, type TimelineEntry } from '@vigil/audit';
import { loadConfig } from '@vigil/platform';
import { cliConfig } from '../config.js';
import { orchestratorClient } from '../orchestrator-client.js';

const stagesList =
  'TRIGGERED, INVESTIGATING, HYPOTHESIS_RECEIVED, CONTEXT_RETRIEVED, SYNTHESIZING, AWAITING_APPROVAL, EXECUTING, VERIFYING, RESOLVED, ESCALATED';

function client() {
  const config = loadConfig(cliConfig);
  return orchestratorClient(config.ORCHESTRATOR_URL, config.VIGIL_API_TOKEN);
}

const out = (text: string): void => void process.stdout.write(`${text}\n`);

/** The parts of an incident `show` prints (the orchestrator's API returns the whole state). */
interface ShownIncident {
  id: string;
  stage: string;
  phase?: string | null;
  service: string;
  title: string;
  hypothesis?: { rootCause: string; confidence: number };
  gate?: { decision: string; reasons: string[] };
  outcome?: { kind: string; reason: string; message: string };
}

function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(cell.length, w[i] ?? 0)), []);
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function incidentsCommand(): Command {
  const incidents = new Command('incidents').description('look at incidents: list, show, export and verify their records');

  incidents
    .command('list')
    .description('incidents, most recently changed first')
    .addOption(new Option('--stage <stage>', `only this stage (${stagesList})`))
    .option('--service <name>', 'only this service')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { stage?: string; service?: string; limit: string; json?: boolean }) => {
      const { incidents: list } = await client().list({ stage: options.stage, service: options.service, limit: Number(options.limit) });
      if (options.json) return out(JSON.stringify(list, null, 2));
      if (list.length === 0) return out('no incidents');
      out(
        table([
          ['ID', 'STAGE', 'SERVICE', 'SEEN', 'UPDATED', 'TITLE'],
          ...list.map((i) => [
            String(i.id),
            String(i.stage),
            String(i.service),
            String(i.occurrences),
            String(i.updatedAt),
            String(i.title),
          ]),
        ]),
      );
    });

  incidents
    .command('show')
    .description('one incident: where it is, why, and its timeline')
    .argument('<id>', 'incident id')
    .option('--json', 'print the incident and timeline as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const shown = (await client().show(id)) as { incident: ShownIncident; timeline: TimelineEntry[]; chain: { valid: boolean } };
      if (options.json) return out(JSON.stringify(shown, null, 2));
      const { incident } = shown;
      out(`${incident.id}  ${incident.stage}${incident.phase ? ` (${incident.phase})` : ''}  ${incident.service}`);
      out(`${incident.title}`);
      if (incident.hypothesis) out(`hypothesis: ${incident.hypothesis.rootCause} (confidence ${incident.hypothesis.confidence})`);
      if (incident.gate) out(`gate: ${incident.gate.decision} — ${incident.gate.reasons.join('; ')}`);
      if (incident.outcome) out(`outcome: ${incident.outcome.kind} (${incident.outcome.reason}) — ${incident.outcome.message}`);
      out(`timeline (${shown.timeline.length} entries, chain ${shown.chain.valid ? 'intact' : 'BROKEN'}):`);
      for (const entry of shown.timeline) out(`  ${entry.at}  ${entry.kind.padEnd(8)}  ${entry.summary}`);
    });

  incidents
    .command('export')
    .description('the whole record (alert → evidence → plan → gate → approvals → commands → verification) as JSON')
    .argument('<id>', 'incident id')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .action(async (id: string, options: { out?: string }) => {
      const record = JSON.stringify(await client().exportRecord(id), null, 2);
      if (options.out) {
        await writeFile(options.out, `${record}\n`);
        process.stderr.write(`wrote ${options.out}\n`);
      } else out(record);
    });

  incidents
    .command('verify')
    .description("check an incident record's hash chain here, from the orchestrator or an exported file (exit 1 if broken)")
    .argument('[id]', 'incident id (fetched from the orchestrator)')
    .option('-f, --file <file>', 'an exported record instead')
    .action(async (id: string | undefined, options: { file?: string }) => {
      if (!id && !options.file) throw new Error('give an incident id or --file');
      const record = (options.file ? JSON.parse(await readFile(options.file, 'utf8')) : await client().exportRecord(id as string)) as {
        timeline?: TimelineEntry[];
        head?: ChainHead;
      };
      if (!Array.isArray(record.timeline)) throw new Error('not an incident record: it has no timeline');
      const verdict = verifyChain(record.timeline, record.head);
      if (verdict.valid) return out(`intact: ${verdict.entries} entries, each linked to the one before`);
      out(`BROKEN at entry ${verdict.brokenAt?.seq}: ${verdict.brokenAt?.problem}`);
      process.exitCode = 1;
    });

  return incidents;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description("re-run an incident through the saga with no side effects and set today's decisions beside the recorded ones")
    .requiredOption('-i, --incident <id>', 'incident id')
    .option('-p, --policy <file>', 'a policy file (YAML or JSON) to try instead of the running one')
    .option('--json', 'print the report as JSON')
    .action(async (options: { incident: string; policy?: string; json?: boolean }) => {
      const policy = options.policy ? parseYaml(await readFile(options.policy, 'utf8')) : undefined;
      const report = (await client().replay(options.incident, policy)) as {
        steps: Array<{ at: string; input: string; same: boolean; recorded: Record<string, string[]>; replayed: Record<string, string[]> }>;
        differences: number;
        finalStage: { recorded: string; replayed: string };
      };
      if (options.json) return out(JSON.stringify(report, null, 2));
      const describe = (o: Record<string, string[]>) =>
        [...(o.decisions ?? []), ...(o.stages ?? []).map((s) => `→ ${s}`), ...(o.commands ?? []).map((c) => `⇒ ${c}`)].join(', ') || '—';
      for (const step of report.steps) {
        out(`${step.same ? ' ' : '*'} ${step.at}  ${step.input}`);
        out(`    recorded: ${describe(step.recorded)}`);
        if (!step.same) out(`    replayed: ${describe(step.replayed)}`);
      }
      out(
        `${report.differences} difference${report.differences === 1 ? '' : 's'}; final stage recorded ${report.finalStage.recorded}, replayed ${report.finalStage.replayed}`,
      );
    });
}
