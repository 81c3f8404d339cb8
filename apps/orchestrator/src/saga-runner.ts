import { createHash } from 'node:crypto';
import type { Cache } from '@vigil/cache';
import type { Db, Queryable } from '@vigil/db';
import { isVigilError, VigilError } from '@vigil/errors';
import { uuidv7, type EventType, type PlanStep, type VigilEvent } from '@vigil/events';
import type { SafetyCheck } from '@vigil/policy';
import type { SagaInput } from './domain/inputs.js';
import { canonicalJson } from '@vigil/audit';
import type { SagaConfig, SagaFacts } from './domain/saga-config.js';
import { transition } from './domain/saga.js';
import type { TransitionContext, TransitionResult } from './domain/transition.js';
import {
  claimAndLockIncident,
  lockByExternalId,
  lockIncident,
  lockLatestByDedupKey,
  lockOpenByDedupKey,
  lockSameAlertFromOtherSource,
  resolvedSince,
  saveTransition,
  type LockedIncident,
} from './store/incident-store.js';

export interface SagaDeps {
  db: Db;
  cache: Cache;
  config: SagaConfig;
  safety: SafetyCheck;
  clock: () => Date;
  /** Called after a transition that queued events has committed (wakes the outbox relay). */
  onCommitted?: () => void;
  /** Sees every committed transition (metrics). */
  observe?: (result: TransitionResult) => void;
}

export type ProcessOutcome = { duplicate: true } | { duplicate: false; result: TransitionResult | null };

const HOUR_MS = 3_600_000;
const budgetKey = (service: string): string => `budget:auto:${service}`;
/** The same fix = the same steps (actions and parameters) for the same service. */
const fixKey = (service: string, steps: readonly PlanStep[]): string =>
  `budget:fix:${service}:${createHash('sha256')
    .update(canonicalJson(steps.map(({ reasoning: _r, ...s }) => s)))
    .digest('hex')
    .slice(0, 32)}`;

/**
 * A resolve or a note for an incident not stored yet: its trigger may still be on its way (or
 * losing a race). Retry rather than record it as handled — after the bus's bounded retries it is
 * dead-lettered with this reason, never silently dropped.
 */
function notYet(type: string, key: string): never {
  throw new VigilError('INCIDENT_NOT_YET_KNOWN', `${type} for ${key}, but no incident has it yet`, { retryable: true, retryAfterMs: 2000 });
}

/** The saga's name in the inbox. */
const INBOX = 'orchestrator';

/** Event types whose incident `locate` finds another way than by the event's incident id. */
const FOUND_OTHERWISE: ReadonlySet<EventType> = new Set(['incident.triggered', 'incident.resolved.external', 'incident.annotated']);

/** An event that names its incident and is found by that id alone. */
const byIncidentId = (event: VigilEvent): event is VigilEvent & { incidentId: string } =>
  event.incidentId !== null && !FOUND_OTHERWISE.has(event.type);

/** Finds and locks the incident an input is about, with the facts a trigger needs. */
async function locate(
  tx: Queryable,
  input: SagaInput,
  now: Date,
  config: SagaConfig,
): Promise<{ locked: LockedIncident | null; refiredFrom?: string }> {
  if (input.kind !== 'event') return { locked: await lockIncident(tx, input.incidentId) };
  const { event } = input;
  switch (event.type) {
    case 'incident.triggered': {
      const open =
        (await lockOpenByDedupKey(tx, event.data.dedupKey)) ??
        (event.data.alertName
          ? await lockSameAlertFromOtherSource(tx, {
              service: event.data.service,
              alertName: event.data.alertName,
              source: event.data.source,
              dedupKey: event.data.dedupKey,
            })
          : null);
      if (open) return { locked: open };
      const refiredFrom = await resolvedSince(tx, event.data.dedupKey, new Date(now.getTime() - config.stabilityWindowMs));
      return { locked: null, ...(refiredFrom ? { refiredFrom } : {}) };
    }
    case 'incident.resolved.external': {
      const incident =
        (await lockOpenByDedupKey(tx, event.data.dedupKey)) ??
        (event.data.externalIncidentId ? await lockByExternalId(tx, event.data.externalIncidentId) : null) ??
        (await lockLatestByDedupKey(tx, event.data.dedupKey));
      return { locked: incident ?? notYet(event.type, event.data.dedupKey) };
    }
    case 'incident.annotated':
      return { locked: (await lockByExternalId(tx, event.data.externalIncidentId)) ?? notYet(event.type, event.data.externalIncidentId) };
    default:
      return { locked: event.incidentId ? await lockIncident(tx, event.incidentId) : null };
  }
}

/**
 * Runs one input through the saga in one transaction: inbox claim, lock, transition, and the
 * state, timeline, outbox and deadline it produces. A redelivered event is a duplicate; two
 * copies racing on one incident serialise on its row lock; two triggers racing to open the same
 * incident meet the unique index and the loser retries (and attaches).
 */
export async function processInput(deps: SagaDeps, input: SagaInput): Promise<ProcessOutcome> {
  const now = deps.clock();
  try {
    const outcome = await withDeadlockRetries(() => transact(deps, input, now));
    if (!outcome.duplicate && outcome.result && outcome.result.commands.length > 0) deps.onCommitted?.();
    if (!outcome.duplicate && outcome.result) deps.observe?.(outcome.result);
    return outcome;
  } catch (error) {
    if (isVigilError(error)) throw error;
    if ((error as { code?: string }).code === '40P01') {
      // Two channels opening the same alert head on, again and again: the bus retries later.
      throw new VigilError('SAGA_CONFLICT', 'met another channel opening the same alert; retrying attaches to it', {
        retryable: true,
        retryAfterMs: 20,
        cause: error,
      });
    }
    // Losing the race to open an incident for this dedup key: the retry attaches to the winner.
    if ((error as { code?: string }).code === '23505') {
      throw new VigilError('SAGA_CONFLICT', 'another copy opened this incident first; retrying attaches to it', {
        retryable: true,
        retryAfterMs: 20,
        cause: error,
      });
    }
    throw new VigilError('SAGA_STORE_FAILED', `the saga store failed: ${(error as Error).message}`, { retryable: true, cause: error });
  }
}

/**
 * Two channels opening one alert head on can meet in a deadlock (each waits for the other's
 * openers, see lockSameAlertFromOtherSource); Postgres picks a victim, which retries here rather
 * than spend one of the bus's deliveries.
 */
async function withDeadlockRetries<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= attempts) throw error;
    }
  }
}

/** One input in one transaction: inbox claim, lock, transition, and what it produces. */
async function transact(deps: SagaDeps, input: SagaInput, now: Date): Promise<ProcessOutcome> {
  return deps.db.transaction(async (tx): Promise<ProcessOutcome> => {
    let located: Awaited<ReturnType<typeof locate>>;
    if (input.kind === 'event' && byIncidentId(input.event)) {
      // Most events name their incident: the inbox claim and the lock go in one statement.
      const { claimed, locked } = await claimAndLockIncident(tx, { consumer: INBOX, eventId: input.event.id }, input.event.incidentId);
      if (!claimed) return { duplicate: true };
      located = { locked };
    } else {
      if (input.kind === 'event') {
        const claimed = await tx.query('INSERT INTO vigil_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          INBOX,
          input.event.id,
        ]);
        if (claimed.rowCount === 0) return { duplicate: true };
      }
      // The incident row is always locked first, then its timer: one lock order on every path.
      located = await locate(tx, input, now, deps.config);
    }
    const { locked, refiredFrom } = located;
    const incident = locked?.incident ?? null;
    if (input.kind === 'deadline') {
      // Claim the timer: only the copy that deletes it acts on it, and only if it still stands.
      const due = await tx.query('DELETE FROM timers WHERE incident_id = $1 AND stage = $2 AND due_at = $3', [
        input.incidentId,
        input.stage,
        input.dueAt,
      ]);
      if (due.rowCount === 0) return { duplicate: false, result: null };
    }
    const facts: SagaFacts = { autoExecutionsLastHour: 0, sameFixLastHour: 0, ...(refiredFrom ? { refiredFrom } : {}) };
    const proposal = input.kind === 'event' && input.event.type === 'remediation.proposed' ? input.event.data : undefined;
    if (incident && proposal?.outcome === 'plan') {
      facts.autoExecutionsLastHour = await deps.cache.addToWindow(budgetKey(incident.service), HOUR_MS, 0);
      facts.sameFixLastHour = await deps.cache.addToWindow(fixKey(incident.service, proposal.plan.steps), HOUR_MS, 0);
    }
    const ctx = (f: SagaFacts): TransitionContext => ({ now, config: deps.config, facts: f, safety: deps.safety, newIncidentId: uuidv7 });
    let result = transition(incident, input, ctx(facts));
    if (result.counts.includes('auto_execution') && result.incident) {
      // Count first, then check: copies deciding at once cannot both take the last slot.
      const total = await deps.cache.addToWindow(budgetKey(result.incident.service), HOUR_MS, 1);
      if (total > deps.config.thresholdsFor(result.incident.service).maxAutoPerHour) {
        result = transition(incident, input, ctx({ ...facts, autoExecutionsLastHour: total - 1 }));
      }
    }
    if (result.counts.includes('fix_execution') && result.incident?.plan) {
      await deps.cache.addToWindow(fixKey(result.incident.service, result.incident.plan.steps), HOUR_MS, 1);
    }
    await saveTransition(tx, locked, result, now);
    return { duplicate: false, result };
  });
}
