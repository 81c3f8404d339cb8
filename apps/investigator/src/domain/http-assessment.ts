import type { Finding } from './findings.js';

export interface HttpResult {
  url: string;
  /** Absent when no answer came (refused, reset, timed out). */
  status?: number;
  latencyMs: number;
  error?: string;
}

/**
 * The health endpoint is a symptom, not a cause: a failing or slow answer supports a
 * hypothesis, and alone gives only a low-confidence one.
 */
export function assessHttp(result: HttpResult, slowMs: number): { findings: Finding[]; observation: string } {
  const latency = Math.round(result.latencyMs);
  const facts = { health_url: result.url, health_status: result.status ?? null, health_latency_ms: latency };
  if (result.status === undefined) {
    const what = `the health endpoint did not answer (${result.error ?? 'no response'}) after ${latency}ms`;
    return {
      findings: [{ category: 'http-symptom', source: 'http.health', rootCause: what, summary: what, facts, confidence: 0.3 }],
      observation: what,
    };
  }
  if (result.status >= 400 || latency >= slowMs) {
    const what = `the health endpoint answered ${result.status} in ${latency}ms${latency >= slowMs ? ` (slower than ${slowMs}ms)` : ''}`;
    return {
      findings: [{ category: 'http-symptom', source: 'http.health', rootCause: what, summary: what, facts, confidence: 0.3 }],
      observation: what,
    };
  }
  return { findings: [], observation: `the health endpoint answered ${result.status} in ${latency}ms` };
}
