import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Remedy, RemedyCheck, Risk, ServiceName } from '@vigil/events';

/** A runbook's front matter: what it is for, and what it prescribes. */
export const RunbookFrontMatter = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,80}$/, 'a lower-case id of letters, digits and -'),
  title: z.string().min(3).max(200),
  services: z.array(ServiceName).default([]),
  alerts: z.array(z.string().min(1)).default([]),
  symptoms: z.array(z.string().min(1)).default([]),
  tags: z.array(z.string().min(1)).default([]),
  risk: Risk,
  actions: z
    .array(
      z.object({
        action: Remedy.shape.steps.element.shape.action,
        params: z.record(z.string(), z.unknown()).default({}),
        reasoning: z.string().default(''),
      }),
    )
    .default([]),
  checks: z.array(RemedyCheck).default([]),
});
export type RunbookFrontMatter = z.output<typeof RunbookFrontMatter>;

export interface RunbookSection {
  heading: string;
  /** 1-based line numbers in the source file, inclusive. */
  lines: [number, number];
  text: string;
}

export interface Runbook extends RunbookFrontMatter {
  body: string;
  sections: RunbookSection[];
  source: string;
}

export type ParsedRunbook = { ok: true; runbook: Runbook } | { ok: false; problems: string[] };

/** Splits the body into `##` sections, keeping the source line numbers each cites. */
function sectionsOf(body: string, firstLine: number): RunbookSection[] {
  const lines = body.split('\n');
  const sections: RunbookSection[] = [];
  let current: { heading: string; start: number; text: string[] } = { heading: 'Overview', start: firstLine, text: [] };
  lines.forEach((line, i) => {
    const heading = /^#{1,3}\s+(.+)$/.exec(line);
    if (heading && i > 0) {
      if (current.text.join('').trim())
        sections.push({ heading: current.heading, lines: [current.start, firstLine + i - 1], text: current.text.join('\n').trim() });
      current = { heading: (heading[1] as string).trim(), start: firstLine + i, text: [] };
    } else if (!heading) current.text.push(line);
  });
  if (current.text.join('').trim())
    sections.push({ heading: current.heading, lines: [current.start, firstLine + lines.length - 1], text: current.text.join('\n').trim() });
  return sections;
}

/** Parses a Markdown runbook with YAML front matter; invalid front matter names the field. */
export function parseRunbook(source: string, text: string): ParsedRunbook {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) return { ok: false, problems: [`${source}: no YAML front matter (a block between --- lines at the top)`] };
  let raw: unknown;
  try {
    raw = parseYaml(match[1] as string);
  } catch (error) {
    return { ok: false, problems: [`${source}: front matter is not YAML: ${(error as Error).message}`] };
  }
  const front = RunbookFrontMatter.safeParse(raw);
  if (!front.success) {
    return { ok: false, problems: front.error.issues.map((i) => `${source}: ${i.path.join('.') || '(front matter)'}: ${i.message}`) };
  }
  const body = match[2] as string;
  const firstBodyLine = (match[1] as string).split('\n').length + 3;
  return { ok: true, runbook: { ...front.data, body, sections: sectionsOf(body, firstBodyLine), source } };
}

/** The remedy a planner can bind, when the runbook prescribes actions. */
export function remedyOf(runbook: RunbookFrontMatter): Remedy | undefined {
  if (runbook.actions.length === 0) return undefined;
  return { risk: runbook.risk, steps: runbook.actions, checks: runbook.checks };
}
