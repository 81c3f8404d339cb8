import type { Evidence } from '@vigil/events';

/**
 * What one read-only probe concluded. A finding is an abnormality that may explain the alert; an
 * observation is what a probe saw when it found nothing wrong (negative evidence matters: a
 * clean lock check contradicts a note that blames a lock); a failure is a probe that could not
 * run — itself evidence ("could not reach X"), never a crash.
 */
export type Category = 'postgres-lock' | 'postgres-idle' | 'postgres-connections' | 'redis-memory' | 'redis-clients' | 'http-symptom';

export interface Finding {
  category: Category;
  /** A stable name for where it came from, e.g. `postgres.blocking`. */
  source: string;
  rootCause: string;
  summary: string;
  facts: Record<string, unknown>;
  confidence: number;
}

export interface ProbeReport {
  probe: 'postgres' | 'redis' | 'http';
  /** The target without secrets. */
  target: string;
  findings: Finding[];
  observations: Evidence[];
  /** Set when the probe could not run. */
  failure?: string;
  /** The categories this probe checked and can speak for (so "found none" means something). */
  checked: Category[];
}

export const round = (value: number, digits = 0): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

export const clamp01 = (value: number): number => Math.min(1, Math.max(0, value));

/** A duration for people: 95s, 4m 5s, 2h 3m. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export const findingToEvidence = (finding: Finding): Evidence => ({
  source: finding.source,
  summary: finding.summary,
  facts: finding.facts,
  confidence: round(finding.confidence, 3),
});
