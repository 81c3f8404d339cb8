import type { IncidentResolved, IncidentTriggered, Plan, VerificationSummary } from '@vigil/events';

/**
 * Learning from outcomes, the knowledge-poisoning guard (DESIGN.md §2). A fix is believed only
 * once it has held: a remediated incident is a `candidate` for the stability window after its
 * resolution, `proven` if no re-fire comes inside it, `ineffective` ("tried, did not hold") if one
 * does. External and manual resolutions prove no fix of ours; they are kept as `history`.
 */
export type LearnedStanding = 'candidate' | 'proven' | 'ineffective' | 'history';

/** What the lesson rests on, so a human can check it. */
export interface Provenance {
  hypothesis?: { rootCause: string; confidence: number; origin: string; evidence: string[] };
  plan?: Plan;
  verification?: VerificationSummary;
  mttrMs: number;
}

export interface LearnedIncident {
  incidentId: string;
  /** The `incident.resolved` event it was learned from. */
  eventId: string;
  service: string;
  dedupKey: string;
  alertName?: string;
  title: string;
  how: IncidentResolved['how'];
  standing: LearnedStanding;
  resolvedAt: Date;
  /** End of the stability window; none for history. */
  windowEndsAt?: Date;
  /** The earliest re-fire inside the window, and the `incident.triggered` event that reported it. */
  refiredAt?: Date;
  refiredBy?: string;
  /** When the standing last changed from candidate. */
  settledAt?: Date;
  provenance: Provenance;
}

/** One firing of an alert, as `incident.triggered` reports it. */
export interface AlertFire {
  eventId: string;
  service: string;
  dedupKey: string;
  alertName?: string;
  firedAt: Date;
}

/** Only a fix we made and can name is learnable; a resolution by someone else proves nothing about a fix. */
export const isLearnable = (resolved: IncidentResolved): resolved is IncidentResolved & { plan: Plan } =>
  resolved.how === 'remediated' && resolved.plan !== undefined;

export const windowEndsAt = (resolvedAt: Date, windowMs: number): Date => new Date(resolvedAt.getTime() + windowMs);

/** The record an `incident.resolved` event starts: a candidate with its window, or history. */
export function learnFromResolution(
  event: { id: string; incidentId: string; data: IncidentResolved },
  stabilityWindowMs: number,
): LearnedIncident {
  const { data } = event;
  const resolvedAt = new Date(data.resolvedAt);
  const learnable = isLearnable(data);
  return {
    incidentId: event.incidentId,
    eventId: event.id,
    service: data.service,
    dedupKey: data.dedupKey,
    ...(data.alertName ? { alertName: data.alertName } : {}),
    // Events from before the provenance fields existed carry no title.
    title: data.title ?? `${data.service}: ${data.alertName ?? data.dedupKey}`,
    how: data.how,
    standing: learnable ? 'candidate' : 'history',
    resolvedAt,
    ...(learnable ? { windowEndsAt: windowEndsAt(resolvedAt, stabilityWindowMs) } : {}),
    provenance: {
      ...(data.hypothesis
        ? {
            hypothesis: {
              rootCause: data.hypothesis.rootCause,
              confidence: data.hypothesis.confidence,
              origin: data.hypothesis.origin,
              evidence: data.hypothesis.evidence.map((e) => e.summary),
            },
          }
        : {}),
      ...(data.plan ? { plan: data.plan } : {}),
      ...(data.verification ? { verification: data.verification } : {}),
      mttrMs: data.mttrMs,
    },
  };
}

export const fireOf = (event: { id: string; data: IncidentTriggered }): AlertFire => ({
  eventId: event.id,
  service: event.data.service,
  dedupKey: event.data.dedupKey,
  ...(event.data.alertName ? { alertName: event.data.alertName } : {}),
  firedAt: new Date(event.data.firedAt),
});

/** The same alert: the same dedup key, or the same alert name on the same service. */
export const isSameAlert = (record: Pick<LearnedIncident, 'service' | 'dedupKey' | 'alertName'>, fire: AlertFire): boolean =>
  record.dedupKey === fire.dedupKey ||
  (record.alertName !== undefined && record.alertName === fire.alertName && record.service === fire.service);

/**
 * A re-fire that counts against the fix: the same alert firing after the resolution and before
 * the window ends (the window is the open interval between them).
 */
export function isRefire(record: LearnedIncident, fire: AlertFire): boolean {
  if (record.standing === 'history' || record.windowEndsAt === undefined) return false;
  const at = fire.firedAt.getTime();
  return isSameAlert(record, fire) && at > record.resolvedAt.getTime() && at < record.windowEndsAt.getTime();
}

/**
 * The record after a firing, or undefined when the firing changes nothing. A re-fire makes a
 * candidate ineffective; it also demotes a proven fix, because the promotion can run before a late
 * `incident.triggered` arrives, and the re-fire inside the window is what decides. An ineffective
 * record keeps the earliest re-fire.
 */
export function afterFire(record: LearnedIncident, fire: AlertFire, now: Date): LearnedIncident | undefined {
  if (!isRefire(record, fire)) return undefined;
  if (record.standing === 'ineffective' && record.refiredAt !== undefined && record.refiredAt <= fire.firedAt) return undefined;
  return {
    ...record,
    standing: 'ineffective',
    refiredAt: fire.firedAt,
    refiredBy: fire.eventId,
    settledAt: record.standing === 'ineffective' && record.settledAt ? record.settledAt : now,
  };
}

/** A candidate whose window has ended (without a re-fire, or it would not be a candidate) is proven. */
export const isDue = (record: Pick<LearnedIncident, 'standing' | 'windowEndsAt'>, now: Date): boolean =>
  record.standing === 'candidate' && record.windowEndsAt !== undefined && record.windowEndsAt.getTime() <= now.getTime();

/** The standing as of `now`, whether or not the promotion ticker has run yet. */
export const standingAt = (record: Pick<LearnedIncident, 'standing' | 'windowEndsAt'>, now: Date): LearnedStanding =>
  isDue(record, now) ? 'proven' : record.standing;

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function describeStep(step: Plan['steps'][number]): string {
  if (step.kind === 'script') return `${step.language} script`;
  const params = Object.entries(step.params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return `${step.action}(${params})`;
}

function describeOutcome(record: LearnedIncident, standing: LearnedStanding): string {
  switch (standing) {
    case 'proven':
      return `Held: no re-fire in the stability window (resolved ${record.resolvedAt.toISOString()}).`;
    case 'ineffective':
      return `Tried, did not hold: the alert re-fired at ${record.refiredAt?.toISOString() ?? 'an unknown time'}, inside the stability window.`;
    case 'candidate':
      return `Not proven yet: resolved ${record.resolvedAt.toISOString()}, inside the stability window until ${record.windowEndsAt?.toISOString()}.`;
    case 'history':
      return `Resolved ${record.how} at ${record.resolvedAt.toISOString()}; no fix of Vigil's to learn from.`;
  }
}

/** The passage a search result shows: root cause, what was done, outcome. At most ~600 characters. */
export function incidentPassage(record: LearnedIncident, standing: LearnedStanding): string {
  const { hypothesis, plan, verification } = record.provenance;
  const parts: string[] = [];
  if (hypothesis) {
    parts.push(`Root cause: ${clip(hypothesis.rootCause, 200)}`);
    if (hypothesis.evidence.length > 0) parts.push(`Evidence: ${clip(hypothesis.evidence.join('; '), 120)}`);
  }
  if (plan) parts.push(`Done: ${clip(plan.steps.map(describeStep).join('; '), 150)}`);
  if (verification?.proof)
    parts.push(
      `Verified: ${verification.proof.passed ? 'passed' : 'failed'} ${verification.proof.rounds} rounds` +
        `${verification.checks.length > 0 ? ` (${clip(verification.checks.join(', '), 60)})` : ''}`,
    );
  parts.push(describeOutcome(record, standing));
  return parts.map((p) => (/[.…]$/.test(p) ? p : `${p}.`)).join(' ');
}

/** The text search indexes: what happened, what it was about, what was done. */
export function searchableText(record: LearnedIncident): { title: string; labels: string; body: string } {
  const { hypothesis, plan } = record.provenance;
  return {
    title: `${record.title} ${hypothesis?.rootCause ?? ''}`,
    labels: [record.service, record.alertName ?? '', record.dedupKey].join(' '),
    body: [
      ...(hypothesis?.evidence ?? []),
      ...(plan?.steps.map((s) => `${s.kind === 'action' ? s.action.replace(/[._]/g, ' ') : s.language} ${s.reasoning}`) ?? []),
      plan?.reasoning ?? '',
    ].join('\n'),
  };
}
