import type { Bus, EventHandler } from '@vigil/bus';
import { createEvent, deterministicUuidv7, type EventDataInput } from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import { planWithModels, type PlanningBudget } from '../model/model-planner.js';
import type { BudgetLedger } from '../model/budget-ledger.js';
import type { ModelProvider } from '../model/provider.js';
import type { Redactor } from '@vigil/redact';
import { checksFor, type ServiceCatalog } from '@vigil/catalog';

export interface ReasonerDeps {
  bus: Bus;
  safety: SafetyCheck;
  /** Models in order of preference; the runbook planner answers when none is configured or none can. */
  providers?: readonly ModelProvider[];
  /** Per incident; the default when absent. */
  budget?: PlanningBudget;
  /** Where each incident's spending is counted across deliveries and copies; per delivery when absent. */
  ledger?: BudgetLedger;
  /** A vendor redactor run on top of the local detectors before any model (Skyflow); local only when absent. */
  redactor?: Redactor;
  /** The service catalog: its checks (or the health URL) join every plan's, so each fix can be proven. */
  catalog?: ServiceCatalog;
}

/**
 * `remediation.requested` → `remediation.proposed`. The answer's id derives from the request's,
 * so a redelivered request publishes the same proposal, which JetStream stores once.
 */
export function createRemediationRequestedHandler(deps: ReasonerDeps): EventHandler<'remediation.requested'> {
  return async (request, ctx) => {
    const { proposal, answeredBy, unavailable } = await planWithModels(
      { service: request.data.service, hypothesis: request.data.hypothesis, context: request.data.context },
      deps.providers ?? [],
      deps.safety,
      {
        ...(deps.budget ? { budget: deps.budget } : {}),
        ...(deps.redactor ? { redactor: deps.redactor } : {}),
        ...(deps.ledger && request.incidentId ? { ledger: { ledger: deps.ledger, incidentId: request.incidentId } } : {}),
      },
    );
    if (proposal.outcome === 'plan') {
      const entry = deps.catalog?.get(request.data.service);
      // A Postgres check reads the service's database as the catalog names it: a plan (a model's
      // or a runbook's) that asks for one where the catalog names none could never be proven.
      const unreadable = proposal.plan.checks.filter((c) => c.kind === 'postgres' && !entry?.postgres).map((c) => c.name);
      if (unreadable.length > 0) {
        ctx.log.warn(
          { service: request.data.service, checks: unreadable },
          'Postgres checks dropped: the catalog names no database for the service',
        );
      }
      const kept = proposal.plan.checks.filter((c) => !unreadable.includes(c.name));
      const named = new Set(kept.map((c) => c.name));
      const extra = checksFor(entry).filter((c) => !named.has(c.name));
      proposal.plan.checks = [...kept, ...extra];
    }
    const answer = createEvent('remediation.proposed', proposal as EventDataInput<'remediation.proposed'>, {
      source: 'reasoner',
      incidentId: request.incidentId,
      causedBy: request,
      id: deterministicUuidv7(`reasoner:${request.id}`, Date.parse(request.occurredAt)),
    });
    await deps.bus.publish(answer);
    ctx.log.info(
      {
        outcome: proposal.outcome,
        answeredBy,
        ...(unavailable.length > 0 ? { unavailable } : {}),
        ...(proposal.outcome === 'plan' ? { steps: proposal.plan.steps.length, flags: proposal.flags } : { reason: proposal.reason }),
      },
      'proposal sent',
    );
  };
}
