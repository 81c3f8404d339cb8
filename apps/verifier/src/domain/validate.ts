import type { VerificationCheck } from '@vigil/events';

const needsTarget = new Set(['click', 'type', 'waitFor']);

/** What the verifier knows about the request's service (from its catalog). */
export interface CheckContext {
  service?: string;
  /** The verifier's catalog has a `postgres` target for the service; without one no Postgres check can run. */
  hasPostgresTarget?: boolean;
}

/**
 * What the schema cannot say about a check: each browser step has what its verb needs, a Postgres
 * check has its threshold filled in and a database to read. Returns one line per problem, naming
 * the check and the step; empty when the checks can run.
 */
export function checkProblems(checks: readonly VerificationCheck[], context: CheckContext = {}): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const check of checks) {
    if (names.has(check.name)) problems.push(`check names must be unique: "${check.name}" appears twice`);
    names.add(check.name);
    if (check.kind === 'http') {
      if (!/^https?:$/.test(new URL(check.url).protocol)) problems.push(`check "${check.name}": url must be http(s), got ${check.url}`);
      continue;
    }
    if (check.kind === 'postgres') {
      if (!context.hasPostgresTarget) {
        const service = context.service ?? 'the service';
        problems.push(
          `check "${check.name}": the verifier's service catalog (VIGIL_SERVICE_CATALOG) has no postgres target for ${service}`,
        );
      }
      continue;
    }
    check.steps.forEach((step, i) => {
      const where = `check "${check.name}" step ${i + 1} (${step.do})`;
      if (step.do === 'goto') {
        const url = step.target ?? step.value;
        if (!url || !isHttpUrl(url)) problems.push(`${where}: target must be an absolute http(s) URL, got ${url ?? 'nothing'}`);
      }
      if (needsTarget.has(step.do) && !step.target) problems.push(`${where}: target (a CSS selector) is required`);
      if (step.do === 'type' && step.value === undefined) problems.push(`${where}: value (the text to type) is required`);
      if (step.do === 'expectText' && !step.value) problems.push(`${where}: value (the text to expect) is required`);
      if (step.do === 'expectStatus') {
        const status = Number(step.value);
        if (!Number.isInteger(status) || status < 100 || status > 599) {
          problems.push(`${where}: value must be an HTTP status (100-599), got ${step.value ?? 'nothing'}`);
        }
      }
    });
    if (check.steps[0]?.do !== 'goto')
      problems.push(`check "${check.name}": the first step must be goto (a new context starts on a blank page)`);
  }
  return problems;
}

function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}
