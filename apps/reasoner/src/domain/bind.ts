import type { Hypothesis } from '@vigil/events';

/** What a runbook's parameter templates may refer to. */
export interface BindingScope {
  service: string;
  hypothesis: Hypothesis;
}

const TEMPLATE = /\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g;

function lookup(path: string, scope: BindingScope): unknown {
  const [root, ...rest] = path.split('.');
  if (root === 'service' && rest.length === 0) return scope.service;
  if (root === 'rootCause' && rest.length === 0) return scope.hypothesis.rootCause;
  if (root === 'evidence' && rest.length === 1) {
    // The first evidence that states the fact wins (the strongest comes first).
    const key = rest[0] as string;
    for (const evidence of scope.hypothesis.evidence) if (Object.hasOwn(evidence.facts, key)) return evidence.facts[key];
  }
  return undefined;
}

export type Bound<T> = { ok: true; value: T } | { ok: false; missing: string[] };

/**
 * Fills `{{evidence.blocker_pid}}`-style templates from the hypothesis. A value that is a whole
 * template keeps its type (a pid stays a number); templates inside text are interpolated. A
 * template nothing can fill fails the binding — a step is never run with a hole in it.
 */
export function bindParams(params: Record<string, unknown>, scope: BindingScope): Bound<Record<string, unknown>> {
  const missing = new Set<string>();
  const bindValue = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const whole = /^\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}$/.exec(value);
      if (whole) {
        const found = lookup(whole[1] as string, scope);
        if (found === undefined) missing.add(whole[1] as string);
        return found;
      }
      return value.replace(TEMPLATE, (_m, path: string) => {
        const found = lookup(path, scope);
        if (found === undefined) missing.add(path);
        return String(found ?? '');
      });
    }
    if (Array.isArray(value)) return value.map(bindValue);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bindValue(v)]));
    return value;
  };
  const value = bindValue(params) as Record<string, unknown>;
  return missing.size > 0 ? { ok: false, missing: [...missing] } : { ok: true, value };
}
