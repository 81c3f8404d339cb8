import type { TimelineEntry } from '@vigil/audit';
import { stages, type Incident } from '../../domain/incident.js';
import type { IncidentSummary } from '../../store/incident-store.js';
import { approvalCard, decidedBy, pendingAsk, problemNotice, sentNotice, type ApprovalAsk } from './approval.js';
import { html, page } from './html.js';
import {
  contextSection,
  executionSection,
  gateSection,
  hypothesisSection,
  planSection,
  safeHref,
  stagesSection,
  timelineSection,
  verificationRow,
  when,
} from './incident-sections.js';

/** What a signed-in page needs besides its data: the form token, the approver, live-update wiring. */
export interface SessionView {
  who: string;
  formToken: string;
  approverUrl?: string;
  /** The version this page shows and where to ask for the current one; unset: the page does not follow changes. */
  live?: { url: string; version: string };
  /** The outcome of a decision just sent (from the redirect), or a refusal to show. */
  sent?: string;
  problem?: string;
}

export function loginPage(error?: string): string {
  return page({
    title: 'Sign in',
    body: html`<h1>Sign in to the console</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <form method="post" action="/console/login">
        <label>API token <input type="password" name="token" autocomplete="current-password" required size="40" /></label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Paste your token from ORCHESTRATOR_API_TOKENS. It is kept in an HttpOnly cookie for this site only.</p>`,
  });
}

export function messagePage(title: string, message: string, signedIn = false): string {
  return page({
    title,
    signedIn,
    body: html`<h1>${title}</h1>
      <p class="error">${message}</p>`,
  });
}

export function listPage(
  incidents: IncidentSummary[],
  filter: { stage?: string; service?: string },
  awaiting: Array<{ incident: Incident; ask: ApprovalAsk }>,
  session: SessionView,
): string {
  const rows = incidents.map(
    (i) =>
      html`<tr>
        <td><span class="stage">${i.stage}</span></td>
        <td>${i.service}</td>
        <td><a href="/console/incidents/${encodeURIComponent(i.id)}">${i.title}</a></td>
        <td>${when(i.triggeredAt)}</td>
        <td>${when(i.updatedAt)}</td>
      </tr>`,
  );
  return page({
    title: 'Incidents',
    signedIn: true,
    ...(session.live ? { live: session.live } : {}),
    body: html`<h1>Incidents</h1>
      <p class="muted">Signed in as ${session.who}.</p>
      ${sentNotice(session.sent)}${problemNotice(session.problem)}
      <h2>Pending approvals</h2>
      <div id="pending">
        ${
          awaiting.length
            ? awaiting.map(({ incident, ask }) =>
                approvalCard(incident, ask, {
                  formToken: session.formToken,
                  back: 'list',
                  title: incident.title,
                  ...(session.approverUrl ? { approverUrl: session.approverUrl } : {}),
                }),
              )
            : html`<p class="muted">Nothing awaits approval.</p>`
        }
      </div>
      <h2>All incidents</h2>
      <form method="get" action="/console">
        <label
          >Stage
          <select name="stage">
            <option value="">any</option>
            ${stages.map((s) => html`<option${s === filter.stage ? html` selected` : ''}>${s}</option>`)}
          </select></label
        >
        <label>Service <input name="service" value="${filter.service ?? ''}" /></label>
        <button type="submit">Filter</button>
      </form>
      <table id="incidents">
        <thead>
          <tr>
            <th>Stage</th>
            <th>Service</th>
            <th>Title</th>
            <th>Opened</th>
            <th>Last change</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length
              ? rows
              : html`<tr>
                  <td colspan="5" class="muted">No incidents match.</td>
                </tr>`
          }
        </tbody>
      </table>`,
  });
}

export function incidentPage(incident: Incident, timeline: TimelineEntry[], chainValid: boolean, session: SessionView): string {
  const external = safeHref(incident.externalUrl);
  const ask = pendingAsk(incident, timeline);
  return page({
    title: incident.title,
    signedIn: true,
    ...(session.live ? { live: session.live } : {}),
    body: html`<p><a href="/console">← all incidents</a></p>
      <h1 id="title">${incident.title}</h1>
      ${incident.approval ? '' : sentNotice(session.sent)}${problemNotice(session.problem)}${decidedBy(incident)}
      ${
        ask
          ? approvalCard(incident, ask, {
              formToken: session.formToken,
              back: 'incident',
              ...(session.approverUrl ? { approverUrl: session.approverUrl } : {}),
            })
          : ''
      }
      <dl id="summary">
        <dt>Stage</dt>
        <dd><span class="stage">${incident.stage}</span>${incident.phase ? ` (${incident.phase})` : ''}</dd>
        <dt>Service</dt>
        <dd>${incident.service}</dd>
        <dt>Severity</dt>
        <dd>${incident.severity}</dd>
        <dt>Source</dt>
        <dd>${incident.source}${external ? html` · <a href="${external}" rel="noreferrer">open in the pager</a>` : ''}</dd>
        <dt>Opened</dt>
        <dd>${when(incident.triggeredAt)}</dd>
        <dt>Last seen</dt>
        <dd>${when(incident.lastSeenAt)} (${incident.occurrences}×)</dd>
        ${
          incident.outcome
            ? html`<dt>Outcome</dt>
                <dd>${incident.outcome.kind}: ${incident.outcome.message}</dd>`
            : ''
        }
        <dt>Audit chain</dt>
        <dd>${chainValid ? 'intact' : html`<span class="error">BROKEN</span>`}</dd>
      </dl>
      <h2>Stages</h2>
      ${stagesSection(incident, timeline)}
      <h2>Hypothesis and evidence</h2>
      ${hypothesisSection(incident)}
      <h2>Runbook citations</h2>
      ${contextSection(incident)}
      <h2>Plan</h2>
      ${planSection(incident)}
      <h2>Gate</h2>
      ${gateSection(incident)}
      <h2>Execution</h2>
      ${executionSection(incident)}
      <h2>Verification</h2>
      <table id="verification">
        <thead>
          <tr>
            <th></th>
            <th>Result</th>
            <th>Pass ratio</th>
            <th>Latency</th>
            <th>Failures</th>
          </tr>
        </thead>
        <tbody>
          ${verificationRow('Baseline', incident.verification.baseline)}${verificationRow('Proof', incident.verification.proof)}
        </tbody>
      </table>
      <h2>Timeline</h2>
      ${timelineSection(timeline)}`,
  });
}
