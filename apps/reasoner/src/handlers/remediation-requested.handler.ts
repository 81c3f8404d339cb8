import type { Bus, EventHandler } from '@vigil/bus';
import { createEvent, deterministicUuidv7, type EventDataInput } from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import { planWithModels, type PlanningBudget } from '../model/model-planner.js';
import type { ModelProvider } from '../model/provider.js';

export interface ReasonerDeps {
  bus: Bus;
  safety: SafetyCheck;
  /** Models in order of preference; the runbook planner answers when none is configured or none can. */
  providers?: readonly ModelProvider[];
  /** Per incident; the default when absent. */
  budget?: PlanningBudget;
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
      deps.budget ? { budget: deps.budget } : {},
    );
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
