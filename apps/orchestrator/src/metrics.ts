import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '@vigil/db';
import type { TransitionResult } from './domain/transition.js';

/**
 * The orchestrator's own metrics, beside the platform's: open incidents by stage (read from the
 * store when scraped, so every copy reports the same truth), how long incidents took to close and
 * how they ended, and the gate's decisions.
 */
export function createOrchestratorMetrics(registry: Registry, db: Db): { observe(result: TransitionResult): void } {
  new Gauge({
    name: 'vigil_incidents_open',
    help: 'Open incidents by stage (the same in every orchestrator copy: read from the store).',
    labelNames: ['stage'],
    registers: [registry],
    async collect() {
      const { rows } = await db.query<{ stage: string; n: number }>(
        'SELECT stage, count(*)::int AS n FROM incidents WHERE closed_at IS NULL GROUP BY stage',
      );
      this.reset();
      for (const row of rows) this.set({ stage: row.stage }, row.n);
    },
  });
  const closed = new Histogram({
    name: 'vigil_incident_duration_seconds',
    help: 'From the alert to the incident closing (MTTR when outcome is resolved), by outcome and reason.',
    labelNames: ['outcome', 'reason'],
    buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 14_400],
    registers: [registry],
  });
  const gate = new Counter({
    name: 'vigil_gate_decisions_total',
    help: "The confidence gate's decisions: AUTO_EXECUTE, REQUIRE_APPROVAL or ESCALATE.",
    labelNames: ['decision'],
    registers: [registry],
  });
  return {
    observe(result) {
      for (const entry of result.timeline) {
        const decision = entry.kind === 'decision' ? entry.data?.['decision'] : undefined;
        if (typeof decision === 'string' && entry.summary.startsWith('gate:')) gate.inc({ decision });
      }
      const incident = result.incident;
      const closing = result.timeline.some((e) => e.kind === 'stage' && (e.summary === 'RESOLVED' || e.summary === 'ESCALATED'));
      if (incident?.outcome && closing) {
        const seconds = (Date.parse(incident.outcome.at) - Date.parse(incident.triggeredAt)) / 1000;
        closed.observe({ outcome: incident.stage.toLowerCase(), reason: incident.outcome.reason }, Math.max(0, seconds));
      }
    },
  };
}
