import type { TimelineEntry } from '@vigil/audit';
import type { Incident } from '../../domain/incident.js';
import { html, type Safe } from './html.js';

/** What the saga asked the approver, as its timeline recorded it. */
export interface ApprovalAsk {
  planHash: string;
  expiresAt: string;
  requiredApprovals: number;
  risk: string;
  confidence: number;
  reasons: string[];
}

/** The request awaiting a decision: the last `approval.requested` for the incident's current plan. */
export function pendingAsk(incident: Incident, timeline: readonly TimelineEntry[]): ApprovalAsk | undefined {
  if (incident.stage !== 'AWAITING_APPROVAL' || !incident.planHash) return undefined;
  const entry = [...timeline].reverse().find((e) => e.eventType === 'approval.requested' && e.data['planHash'] === incident.planHash);
  const data = entry?.data ?? {};
  return {
    planHash: incident.planHash,
    expiresAt: typeof data['expiresAt'] === 'string' ? data['expiresAt'] : '',
    requiredApprovals: typeof data['requiredApprovals'] === 'number' ? data['requiredApprovals'] : (incident.gate?.requiredApprovals ?? 1),
    risk: incident.plan?.risk ?? String(data['risk'] ?? ''),
    confidence: typeof data['confidence'] === 'number' ? data['confidence'] : (incident.plan?.confidence ?? 0),
    reasons: incident.gate?.reasons ?? [],
  };
}

export interface CardOptions {
  /** The per-session form token the decision route checks (CSRF). */
  formToken: string;
  /** Unset: the console cannot send decisions and says where to make them instead. */
  approverUrl?: string;
  /** Where the person returns after deciding. */
  back: 'list' | 'incident';
  /** The card on the list names its incident; on the incident page it does not need to. */
  title?: string;
}

const when = (iso: string): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'unknown');

/** A pending approval with Approve / Deny: a plain form posted to the console, which forwards it. */
export function approvalCard(incident: Incident, ask: ApprovalAsk, options: CardOptions): Safe {
  const action = `/console/incidents/${encodeURIComponent(incident.id)}/decision`;
  const steps = incident.plan?.steps ?? [];
  return html`<section class="approval" data-incident="${incident.id}">
    <h3>
      Awaiting approval${options.title ? html`: <a href="/console/incidents/${encodeURIComponent(incident.id)}">${options.title}</a>` : ''}
    </h3>
    <dl>
      <dt>Service</dt>
      <dd>${incident.service}</dd>
      <dt>Risk</dt>
      <dd class="risk">${ask.risk}</dd>
      <dt>Confidence</dt>
      <dd class="confidence">${Math.round(ask.confidence * 100)}%</dd>
      <dt>Approvals needed</dt>
      <dd>${ask.requiredApprovals}</dd>
      <dt>Expires</dt>
      <dd class="expires">${when(ask.expiresAt)}</dd>
      <dt>Why the gate asked</dt>
      <dd>${ask.reasons.join('; ') || '—'}</dd>
      <dt>Plan</dt>
      <dd>
        <ol class="plan-steps">
          ${steps.map((s) => html`<li><code>${s.kind === 'action' ? s.action : `${s.language} script`}</code> ${s.reasoning}</li>`)}
        </ol>
      </dd>
      <dt>Plan hash</dt>
      <dd><code>${ask.planHash}</code></dd>
    </dl>
    ${
      options.approverUrl
        ? html`<form method="post" action="${action}" class="decision">
            <input type="hidden" name="form" value="${options.formToken}" />
            <input type="hidden" name="planHash" value="${ask.planHash}" />
            <input type="hidden" name="back" value="${options.back}" />
            <label>Reason <input type="text" name="reason" maxlength="2000" size="40" placeholder="optional" /></label>
            <button type="submit" name="decision" value="approve">Approve</button>
            <button type="submit" name="decision" value="deny">Deny</button>
          </form>`
        : html`<p class="muted">
            APPROVER_URL is not set, so this console cannot send decisions: use <code>vigil approve ${incident.id}</code> or the approver's
            page at <code>/approvals</code>.
          </p>`
    }
  </section>`;
}

const sentText: Record<string, string> = {
  approved: 'Approved: the plan runs as soon as the saga takes the decision.',
  denied: 'Denied: nothing will run.',
  counted: 'Your approval is counted; more approvers are needed.',
  duplicate: 'You had already approved this plan; a person counts once.',
};

/** The line shown after a decision was sent (the outcome comes back in the redirect's query). */
export function sentNotice(outcome: string | undefined): Safe | '' {
  const text = outcome ? sentText[outcome] : undefined;
  return text ? html`<p class="notice" role="status" id="decision-notice">${text}</p>` : '';
}

export function problemNotice(message: string | undefined): Safe | '' {
  return message ? html`<p class="problem" role="alert" id="decision-problem">${message}</p>` : '';
}

/** Who decided, once the saga has the decision: the approver's record of the person, not the console's. */
export function decidedBy(incident: Incident): Safe | '' {
  const a = incident.approval;
  if (!a) return '';
  return html`<p class="notice" id="decided-by">
    ${a.decision === 'approved' ? 'Approved' : a.decision === 'denied' ? 'Denied' : 'Expired'}${a.by.length ? ` by ${a.by.join(', ')}` : ''}
    via ${a.via}${a.reason ? `: ${a.reason}` : ''}
  </p>`;
}
