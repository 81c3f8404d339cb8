import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One labelled alert: what the orchestrator would send memory, and the runbook that should answer. */
export const LabelledCase = z.object({
  id: z.string().min(1),
  /** `tuning` cases were used while tuning search; `holdout` cases were written after it. */
  split: z.enum(['tuning', 'holdout']),
  /** Where such an alert comes from (for the reader; search does not see it). */
  source: z.enum(['alertmanager', 'pagerduty', 'events_v2', 'datadog']),
  service: z.string().min(1),
  alertName: z.string().min(1).optional(),
  title: z.string().min(1),
  rootCause: z.string().min(1),
  expected: z.string().min(1),
});
export type LabelledCase = z.infer<typeof LabelledCase>;

const LabelledFile = z.object({ about: z.string(), cases: z.array(LabelledCase).min(40) });

/** The labelled set, validated (a bad case names its index and field). */
export function loadLabelled(): LabelledCase[] {
  const file = LabelledFile.parse(JSON.parse(readFileSync(new URL('./labelled.json', import.meta.url), 'utf8')));
  const ids = new Set<string>();
  for (const c of file.cases) {
    if (ids.has(c.id)) throw new Error(`labelled.json: case id ${c.id} appears twice`);
    ids.add(c.id);
  }
  return file.cases;
}

/** The request exactly as the saga builds `context.requested` (apps/orchestrator/src/domain/saga.ts). */
export function requestOf(c: LabelledCase, limit = 5): { query: string; service: string; alertName?: string; limit: number } {
  return {
    query: `${c.rootCause}\n${c.title}`.slice(0, 8192),
    service: c.service,
    ...(c.alertName ? { alertName: c.alertName } : {}),
    limit,
  };
}
