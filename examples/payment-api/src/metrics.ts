import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OrdersStore } from './store.js';

/** What Prometheus scrapes at /metrics: request latency (the demo's alert rule), checkouts, the pool. */
export function createMetrics(store: OrdersStore) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const checkouts = new Counter({
    name: 'payment_checkouts_total',
    help: 'Checkouts by outcome: confirmed, failed (database), rejected (bad input)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const health = new Gauge({
    name: 'payment_health_up',
    help: '1 when the last /health passed, 0 when it failed',
    registers: [registry],
  });
  new Gauge({
    name: 'payment_db_pool_connections',
    help: 'Database pool connections by state (max: the configured size)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = store.pool();
      for (const [state, value] of Object.entries(stats)) this.set({ state }, value);
    },
  });
  return { registry, requestSeconds, checkouts, health };
}

export type Metrics = ReturnType<typeof createMetrics>;
