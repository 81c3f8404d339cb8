/**
 * The approval console: a page with no data of its own. It asks for the person's API token (kept
 * in this tab's sessionStorage only), lists pending requests from the API with every step exactly
 * as it will run, and sends Approve / Deny with the plan hash shown. Text is only ever inserted as
 * text (never as HTML), and the page's CSP allows no inline script.
 */
export const consolePage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Approvals · Vigil</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:70rem}
article{border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:1rem 0}pre{background:#f6f8fa;padding:.6rem;overflow:auto}
.risk-CRITICAL,.risk-HIGH{color:#cf222e}.muted{color:#57606a}button{margin-right:.5rem}</style></head><body>
<h1>Pending approvals</h1>
<form id="login"><label>API token <input id="token" type="password" autocomplete="off" size="40"></label> <button>Show</button></form>
<p id="status" class="muted"></p><div id="list"></div>
<script src="/approvals/console.js"></script></body></html>`;

export const consoleScript = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
const token = () => sessionStorage.getItem('vigil-approver-token') || '';
async function api(path, init) {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', authorization: 'Bearer ' + token(), ...(init && init.body ? { 'content-type': 'application/json' } : {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok && res.status !== 409 && res.status !== 403) throw new Error(body.error || res.statusText);
  return body;
}
function render(approval) {
  const a = el('article');
  a.append(el('h2', approval.service + ' — incident ' + approval.incidentId));
  a.append(el('p', 'Risk ' + approval.risk + ' · confidence ' + Math.round(approval.confidence * 100) + '% · needs ' + approval.approvalsNeeded + ' approver(s) · expires ' + approval.expiresAt, 'risk-' + approval.risk));
  a.append(el('p', 'Why the gate asked: ' + approval.reasons.join('; ')));
  if (approval.plan.reasoning) a.append(el('p', 'Hypothesis and evidence: ' + approval.plan.reasoning));
  for (const c of approval.plan.citations) a.append(el('p', 'Runbook cited: ' + c.title + (c.section ? ' § ' + c.section : '') + ' (' + c.documentId + ')', 'muted'));
  approval.plan.steps.forEach((s, i) => {
    a.append(el('h3', 'Step ' + (i + 1) + ': ' + (s.kind === 'action' ? s.action : s.language + ' script')));
    a.append(el('pre', s.kind === 'action' ? JSON.stringify(s.params, null, 2) : s.code));
  });
  if (approval.votes.length) a.append(el('p', 'Approved so far by ' + approval.votes.map((v) => v.person.name || v.person.id).join(', ')));
  a.append(el('p', 'Plan hash ' + approval.planHash, 'muted'));
  const reason = el('input'); reason.placeholder = 'reason (optional)'; reason.size = 40;
  const send = (decision) => async () => {
    const body = await api('/approvals/' + encodeURIComponent(approval.incidentId) + '/decision', { method: 'POST', body: JSON.stringify({ planHash: approval.planHash, decision, ...(reason.value ? { reason: reason.value } : {}) }) });
    $('status').textContent = body.message || body.error || '';
    await load();
  };
  const approve = el('button', 'Approve'); approve.onclick = send('approve');
  const deny = el('button', 'Deny'); deny.onclick = send('deny');
  a.append(reason, el('br'), approve, deny);
  return a;
}
async function load() {
  try {
    const { approvals } = await api('/approvals?state=pending');
    $('list').replaceChildren(...approvals.map(render));
    if (!approvals.length) $('list').replaceChildren(el('p', 'Nothing awaits approval.', 'muted'));
  } catch (e) { $('status').textContent = e.message; }
}
$('login').onsubmit = (e) => { e.preventDefault(); sessionStorage.setItem('vigil-approver-token', $('token').value); load(); };
if (token()) load();
`;
