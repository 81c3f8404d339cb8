import type { ConsumeOptions } from '@vigil/bus';
import { createMemoryInbox } from '@vigil/bus';
import { createRemediationRequestedHandler, type ReasonerDeps } from './handlers/remediation-requested.handler.js';

/** The reasoner's consumer, wired from its dependencies; no env reads, no listen(). */
export function buildReasoner(deps: ReasonerDeps, options: { concurrency: number }): Omit<ConsumeOptions, 'durable'> {
  return {
    concurrency: options.concurrency,
    inbox: createMemoryInbox(),
    handlers: { 'remediation.requested': createRemediationRequestedHandler(deps) },
  };
}
