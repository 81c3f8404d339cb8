import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusObserver, SettledDelivery, Subscription } from '@vigil/bus';

export interface RecentEvent {
  at: string;
  consumer: string;
  type: string;
  incidentId: string | null;
  settlement: string;
  durationMs: number;
  error?: string;
}

/**
 * The engine's Prometheus metrics and the short memory behind the status page. The bus reports
 * every settled delivery through `observer`; consumer lag is read when /metrics is scraped.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly recentHandled: RecentEvent[] = [];
  readonly recentFailed: RecentEvent[] = [];
  private readonly subscriptions = new Set<Subscription>();
  private readonly handled: Counter<'consumer' | 'type' | 'outcome'>;
  private readonly duration: Histogram<'consumer' | 'type'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.handled = new Counter({
      name: 'vigil_events_handled_total',
      help: 'Deliveries settled by this service, by consumer, event type and outcome (ack, nak, term, duplicate).',
      labelNames: ['consumer', 'type', 'outcome'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'vigil_handler_duration_seconds',
      help: 'Time from receiving a delivery to settling it.',
      labelNames: ['consumer', 'type'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [this.registry],
    });
    const subscriptions = this.subscriptions;
    new Gauge({
      name: 'vigil_consumer_pending',
      help: 'Messages a durable consumer has not had acknowledged yet (its lag).',
      labelNames: ['consumer'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const sub of subscriptions) {
          const pending = await sub.pending().catch(() => undefined);
          if (pending !== undefined) this.set({ consumer: sub.durable }, pending);
        }
      },
    });
  }

  readonly observer: BusObserver = {
    onSettled: (record: SettledDelivery) => {
      const outcome = record.settlement;
      this.handled.inc({ consumer: record.consumer, type: record.type, outcome });
      this.duration.observe({ consumer: record.consumer, type: record.type }, record.durationMs / 1000);
      const recent: RecentEvent = {
        at: new Date().toISOString(),
        consumer: record.consumer,
        type: record.type,
        incidentId: record.incidentId,
        settlement: outcome,
        durationMs: Math.round(record.durationMs),
        ...(record.error ? { error: `${record.error.code}: ${record.error.message}` } : {}),
      };
      const list = record.error ? this.recentFailed : this.recentHandled;
      list.unshift(recent);
      list.length = Math.min(list.length, 20);
    },
  };

  track(subscription: Subscription): void {
    this.subscriptions.add(subscription);
  }

  untrack(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
  }

  async lag(): Promise<Array<{ consumer: string; pending: number | null }>> {
    return Promise.all([...this.subscriptions].map(async (s) => ({ consumer: s.durable, pending: await s.pending().catch(() => null) })));
  }
}
