import { Counter } from 'prom-client';
import type { ServiceMetrics } from '@vigil/platform';

export type Endpoint = 'pagerduty' | 'events_v2' | 'alertmanager';

/** Requests accepted or rejected, by endpoint and reason (`vigil_ingest_requests_total`). */
export class IngestMetrics {
  private readonly requests: Counter<'endpoint' | 'outcome' | 'reason'>;

  constructor(metrics: ServiceMetrics) {
    this.requests = new Counter({
      name: 'vigil_ingest_requests_total',
      help: 'Requests at the alert edges, by endpoint, outcome (accepted, ignored, duplicate, rejected, unavailable) and reason.',
      labelNames: ['endpoint', 'outcome', 'reason'],
      registers: [metrics.registry],
    });
  }

  count(endpoint: Endpoint, outcome: 'accepted' | 'ignored' | 'duplicate' | 'rejected' | 'unavailable', reason: string): void {
    this.requests.inc({ endpoint, outcome, reason });
  }
}
