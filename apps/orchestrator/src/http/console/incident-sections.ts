import type { TimelineEntry } from '@vigil/audit';
import type { VerificationCompleted } from '@vigil/events';
import type { Incident } from '../../domain/incident.js';
import { html, type Safe } from './html.js';

/** The sections of an incident's page, one per part of its record. Every value is escaped by `html`. */

export const pct = (score: number | undefined): string => (score === undefined ? '—' : `${Math.round(score * 100)}%`);
export const when = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
export const json = (value: unknown): string => JSON.stringify(value, null, 2);
/** Only http(s) links leave the console: a `javascript:` URL in an alert must not become a link. */
export const safeHref = (url: string | undefined): string | undefined => (url && /^https?:\/\//i.test(url) ? url : undefined);

export function hypothesisSection(incident: Incident): Safe {
  const h = incident.hypothesis;
  if (!h) return html`<p class="muted">No hypothesis yet.</p>`;
  return html`<dl>
      <dt>Root cause</dt>
      <dd>${h.rootCause}</dd>
      <dt>Confidence</dt>
      <dd>${pct(h.confidence)}</dd>
      <dt>Origin</dt>
      <dd>${h.origin}</dd>
      <dt>Flags</dt>
      <dd>${h.flags.join(', ') || '—'}</dd>
    </dl>
    <table>
      <thead>
        <tr>
          <th>Evidence source</th>
          <th>Summary</th>
          <th>Facts</th>
          <th>Confidence</th>
        </tr>
      </thead>
      <tbody>
        ${h.evidence.map(
          (e) =>
            html`<tr>
              <td>${e.source}</td>
              <td>${e.summary}</td>
              <td><code>${json(e.facts)}</code></td>
              <td>${pct(e.confidence)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

export function contextSection(incident: Incident): Safe {
  if (!incident.context?.length) return html`<p class="muted">No runbooks retrieved.</p>`;
  return html`<table id="citations">
    <thead>
      <tr>
        <th>Score</th>
        <th>Kind</th>
        <th>Title</th>
        <th>Section</th>
        <th>Standing</th>
        <th>Passage</th>
      </tr>
    </thead>
    <tbody>
      ${incident.context.map((m) => {
        const href = safeHref(m.citation.uri);
        return html`<tr>
          <td>${pct(m.score)}</td>
          <td>${m.citation.kind}</td>
          <td>${href ? html`<a href="${href}" rel="noreferrer">${m.citation.title}</a>` : m.citation.title}</td>
          <td>${m.citation.section ?? ''}${m.citation.lines ? ` (lines ${m.citation.lines[0]}–${m.citation.lines[1]})` : ''}</td>
          <td>${m.standing}</td>
          <td>${m.passage}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export function planSection(incident: Incident): Safe {
  const plan = incident.plan;
  if (!plan) return html`<p class="muted">No plan yet.</p>`;
  return html`<dl>
      <dt>Confidence</dt>
      <dd>${pct(plan.confidence)}</dd>
      <dt>Risk</dt>
      <dd>${plan.risk}</dd>
      <dt>Produced by</dt>
      <dd>${plan.producedBy}</dd>
      <dt>Reasoning</dt>
      <dd>${plan.reasoning || '—'}</dd>
      <dt>Rollback</dt>
      <dd>${plan.rollback || '—'}</dd>
      <dt>Edge cases</dt>
      <dd>${incident.flags.join(', ') || '—'}</dd>
    </dl>
    <table id="plan">
      <thead>
        <tr>
          <th>#</th>
          <th>Step</th>
          <th>What</th>
          <th>Parameters / code</th>
          <th>Reasoning</th>
        </tr>
      </thead>
      <tbody>
        ${plan.steps.map(
          (s, i) =>
            html`<tr>
              <td>${i + 1}</td>
              <td>${s.id}</td>
              <td>${s.kind === 'action' ? s.action : `${s.language} script`}</td>
              <td><code>${s.kind === 'action' ? json(s.params) : s.code}</code></td>
              <td>${s.reasoning}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

export function gateSection(incident: Incident): Safe {
  const gate = incident.gate;
  if (!gate) return html`<p class="muted">The gate has not decided yet.</p>`;
  const approval = incident.approval;
  return html`<dl id="gate">
      <dt>Decision</dt>
      <dd>${gate.decision}${gate.uncapped !== gate.decision ? ` (before the autonomy cap: ${gate.uncapped})` : ''}</dd>
      <dt>Autonomy</dt>
      <dd>${gate.autonomy}</dd>
      <dt>Approvals required</dt>
      <dd>${gate.requiredApprovals}</dd>
      ${
        approval
          ? html`<dt>Approval</dt>
              <dd>
                ${approval.decision} by ${approval.by.join(', ')} via ${approval.via}${approval.reason ? `: ${approval.reason}` : ''}
              </dd>`
          : ''
      }
    </dl>
    <ul>
      ${gate.reasons.map((r) => html`<li>${r}</li>`)}
    </ul>`;
}

export function executionSection(incident: Incident): Safe {
  if (!incident.steps.length && !incident.compensations.length) return html`<p class="muted">Nothing executed.</p>`;
  return html`<table id="steps">
    <thead>
      <tr>
        <th>#</th>
        <th>Step</th>
        <th>Status</th>
        <th>Summary</th>
      </tr>
    </thead>
    <tbody>
      ${incident.steps.map(
        (s) =>
          html`<tr>
            <td>${s.index + 1}</td>
            <td>${s.stepId}</td>
            <td>${s.status}</td>
            <td>${s.summary ?? ''}</td>
          </tr>`,
      )}${incident.compensations.map(
        (c) =>
          html`<tr>
            <td>undo ${c.index + 1}</td>
            <td>${c.step.id}</td>
            <td>${c.status}</td>
            <td>compensation</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function verificationRow(label: string, v: VerificationCompleted | undefined): Safe {
  if (!v)
    return html`<tr>
      <td>${label}</td>
      <td colspan="4" class="muted">not run</td>
    </tr>`;
  return html`<tr>
    <td>${label}</td>
    <td>${v.passed ? 'passed' : 'failed'}</td>
    <td>${pct(v.passRatio)} over ${v.rounds} rounds</td>
    <td>p50 ${v.latencyMs.p50} ms, p95 ${v.latencyMs.p95} ms</td>
    <td>${v.failures.map((f) => html`<div>${f.check}${f.status ? ` ${f.status}` : ''}: ${f.error ?? f.excerpt ?? ''}</div>`)}</td>
  </tr>`;
}

const took = (ms: number): string =>
  ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;

/** Each stage the incident reached, when, and how long it stayed (the open one: so far). */
export function stagesSection(incident: Incident, timeline: TimelineEntry[]): Safe {
  const entered = timeline.filter((e) => e.kind === 'stage').map((e) => ({ label: e.summary, at: e.at }));
  return html`<table id="stages">
    <thead>
      <tr>
        <th>Stage</th>
        <th>Entered</th>
        <th>Took</th>
      </tr>
    </thead>
    <tbody>
      ${entered.map((e, i) => {
        const next = entered[i + 1];
        const open = !next && incident.stage !== 'RESOLVED' && incident.stage !== 'ESCALATED';
        const ms = Date.parse(next?.at ?? new Date().toISOString()) - Date.parse(e.at);
        return html`<tr>
          <td><span class="stage">${e.label}</span></td>
          <td>${when(e.at)}</td>
          <td>${next ? took(ms) : open ? `${took(ms)} so far` : '—'}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export function timelineSection(timeline: TimelineEntry[]): Safe {
  return html`<table id="timeline">
    <thead>
      <tr>
        <th>#</th>
        <th>Time</th>
        <th>Kind</th>
        <th>Summary</th>
      </tr>
    </thead>
    <tbody>
      ${timeline.map(
        (e) =>
          html`<tr>
            <td>${e.seq}</td>
            <td>${when(e.at)}</td>
            <td>${e.kind}${e.eventType ? html` <span class="muted">${e.eventType}</span>` : ''}</td>
            <td>${e.summary}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
