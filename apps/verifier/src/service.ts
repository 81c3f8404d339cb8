import { createMemoryInbox, type Bus, type ConsumeOptions } from '@vigil/bus';
import { emptyCatalog, type ServiceCatalog } from '@vigil/catalog';
import type { Logger } from '@vigil/platform';
import { Counter, Registry } from 'prom-client';
import { createVerificationRequestedHandler } from './handlers/verification-requested.handler.js';
import { createSwarm, type SwarmOptions, type Swarm } from './swarm.js';

export interface VerifierWiring {
  bus: Bus;
  log: Logger;
  swarm: Omit<SwarmOptions, 'onBrowserEvent' | 'onAttempt' | 'catalog'>;
  /** Where each service's database is (`postgres:`), for Postgres checks. Default: empty. */
  catalog?: ServiceCatalog;
  /** Where the counters go (the service's /metrics registry). */
  registry?: Registry;
}

export interface Verifier {
  consumer: Omit<ConsumeOptions, 'durable'>;
  swarm: Swarm;
}

/** Wiring only: the swarm, its counters, and the consumer of `verification.requested`. */
export function buildVerifier(deps: VerifierWiring, options: { concurrency: number }): Verifier {
  const registers = [deps.registry ?? new Registry()];
  const checks = new Counter({
    name: 'vigil_verifier_checks_total',
    help: 'Check attempts, by kind (http, browser, postgres) and outcome (passed, failed, verifier_error).',
    labelNames: ['kind', 'outcome'],
    registers,
  });
  const verifications = new Counter({
    name: 'vigil_verifier_verifications_total',
    help: 'Verifications answered, by mode (baseline, proof) and result (passed, failed).',
    labelNames: ['mode', 'result'],
    registers,
  });
  const browsers = new Counter({
    name: 'vigil_verifier_browser_events_total',
    help: 'Browser lifecycle: launched, connected, lost (crashed or disconnected; the next check gets a new one).',
    labelNames: ['event'],
    registers,
  });
  const catalog = deps.catalog ?? emptyCatalog;
  const swarm = createSwarm({
    ...deps.swarm,
    catalog,
    onBrowserEvent: (event) => {
      browsers.inc({ event: event.kind });
      if (event.kind === 'lost') deps.log.warn('browser lost: the next check starts a new one');
      else deps.log.info({ pid: event.pid }, `browser ${event.kind}`);
    },
    onAttempt: (kind, attempt) =>
      checks.inc({ kind, outcome: attempt.passed ? 'passed' : attempt.failure?.blame === 'verifier' ? 'verifier_error' : 'failed' }),
  });
  const maxDeadlineMs = deps.swarm.maxDeadlineMs ?? 10 * 60_000;
  return {
    swarm,
    consumer: {
      concurrency: options.concurrency,
      // A verification may run for its whole deadline; the bus keeps the delivery alive that long.
      maxHandlerMs: maxDeadlineMs + 2 * 60_000,
      // Checks have no side effects and the answer's id is the request's: the inbox only spares a rerun.
      inbox: createMemoryInbox(),
      handlers: {
        'verification.requested': createVerificationRequestedHandler({
          bus: deps.bus,
          swarm,
          catalog,
          onCompleted: (mode, passed) => verifications.inc({ mode, result: passed ? 'passed' : 'failed' }),
        }),
      },
    },
  };
}
