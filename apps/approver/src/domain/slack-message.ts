import type { ApprovalDecided, ApprovalRequested, PlanStep } from '@vigil/events';
import { approvalsNeeded, type RequestState, type Vote } from './judge.js';
import type { Person } from './policy.js';

/** What a Slack message about a request shows: the request as asked, and where it stands. */
export interface ApprovalView {
  incidentId: string;
  planHash: string;
  request: ApprovalRequested;
  expiresAt: Date;
  state: RequestState;
  votes: readonly Vote[];
  decision: ApprovalDecided | null;
}

// Slack's documented limits: 50 blocks a message, 3000 characters a section, 150 a header,
// 2000 a button value. Code is split (never cut) into preformatted pieces below them.
const MAX_BLOCKS = 50;
const MAX_SECTION = 3000;
const PIECE = 2900;

export const APPROVE_ACTION = 'vigil_approve';
export const DENY_ACTION = 'vigil_deny';
export const DECISION_BLOCK = 'vigil_decision';

type Block = Record<string, unknown>;
export interface SlackMessage {
  text: string;
  blocks: Block[];
  /** False when the plan cannot be shown whole: then it cannot be approved from Slack. */
  complete: boolean;
}

/** Slack's mrkdwn control characters; everything we did not write ourselves goes through this. */
export const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, MAX_SECTION) } });
const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, MAX_SECTION) }] });

/** Exact text, shown verbatim: rich-text preformatted is not parsed as mrkdwn. */
function preformatted(text: string): Block[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += PIECE) pieces.push(text.slice(at, at + PIECE));
  return pieces.map((piece) => ({
    type: 'rich_text',
    elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text: piece }] }],
  }));
}

const slackDate = (at: Date): string => `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} {time}|${at.toISOString()}>`;

const personLabel = (person: Person): string => (person.slackUserId ? `<@${person.slackUserId}>` : escapeMrkdwn(person.name ?? person.id));

function stepBlocks(step: PlanStep, index: number): Block[] {
  const heading =
    step.kind === 'action'
      ? `*Step ${index + 1}* — typed action \`${step.action}\` with these parameters:`
      : `*Step ${index + 1}* — ${step.language} script${step.egress.length > 0 ? `, may reach ${escapeMrkdwn(step.egress.join(', '))}` : ', no network'}:`;
  const body = step.kind === 'action' ? JSON.stringify(step.params, null, 2) : step.code;
  return [section(`${heading}${step.reasoning ? `\n_${escapeMrkdwn(step.reasoning)}_` : ''}`), ...preformatted(body)];
}

function outcome(view: ApprovalView): string | undefined {
  const needed = approvalsNeeded(view.request);
  const approvals = view.votes.filter((v) => v.vote === 'approve');
  switch (view.state) {
    case 'pending':
      return approvals.length === 0
        ? undefined
        : `:hourglass: ${approvals.length} of ${needed} approvals: ${approvals.map((v) => personLabel(v.person)).join(', ')}`;
    case 'approved':
    case 'denied': {
      const by = (view.decision?.decidedBy ?? []).map((p) => personLabel({ ...p, ...slackOf(view, p.id) })).join(', ');
      const icon = view.state === 'approved' ? ':white_check_mark: *Approved*' : ':x: *Denied*';
      const reason = view.decision?.reason ? ` — ${escapeMrkdwn(view.decision.reason)}` : '';
      return `${icon} by ${by} via ${view.decision?.via ?? '?'} at ${slackDate(view.decision ? new Date(view.decision.decidedAt) : view.expiresAt)}${reason}`;
    }
    case 'expired':
      return `:alarm_clock: *Expired* at ${slackDate(view.expiresAt)} with no decision: escalated, nothing will run. Later clicks are not counted.`;
    case 'superseded':
      return ':leftwards_arrow_with_hook: *Superseded* by a newer plan for this incident: this one will not run.';
  }
}

const slackOf = (view: ApprovalView, personId: string): { slackUserId?: string } => {
  const vote = view.votes.find((v) => v.person.id === personId);
  return vote?.person.slackUserId ? { slackUserId: vote.person.slackUserId } : {};
};

/**
 * The Block Kit message for a request: the incident, what the plan rests on, the runbooks it
 * cites, every step exactly as it will run, risk and confidence, why the gate asked, when it
 * expires — and, while it is pending and shown whole, Approve and Deny buttons bound to the
 * incident and the plan's hash.
 */
export function renderApprovalMessage(view: ApprovalView, options: { consoleUrl?: string } = {}): SlackMessage {
  const { request } = view;
  const plan = request.plan;
  const needed = approvalsNeeded(request);
  const fields = [
    `*Incident*\n${escapeMrkdwn(view.incidentId)}`,
    `*Service*\n${escapeMrkdwn(request.service)}`,
    `*Risk*\n${request.risk}`,
    `*Confidence*\n${Math.round(request.confidence * 100)}%`,
    `*Approvals needed*\n${needed} distinct${needed > 1 ? ' people' : ''}`,
    `*Expires*\n${slackDate(view.expiresAt)}`,
    `*Requested by*\n${escapeMrkdwn(request.requestedBy)}`,
    `*Planned by*\n${escapeMrkdwn(plan.producedBy)}`,
  ];
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Approval needed: ${request.service} (${request.risk})`, 150) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
    section(`*Why the gate asked*\n${request.reasons.map((r) => `• ${escapeMrkdwn(r)}`).join('\n')}`),
  ];
  if (plan.reasoning) blocks.push(section(`*Hypothesis and evidence*\n${escapeMrkdwn(plan.reasoning)}`));
  if (plan.citations.length > 0) {
    const cited = plan.citations.map((c) => {
      const title = escapeMrkdwn(`${c.title}${c.section ? ` § ${c.section}` : ''}${c.lines ? ` (lines ${c.lines[0]}–${c.lines[1]})` : ''}`);
      return `• ${c.uri && /^https?:\/\//.test(c.uri) ? `<${c.uri}|${title}>` : title} — ${c.kind} \`${escapeMrkdwn(c.documentId)}\``;
    });
    blocks.push(section(`*Runbook cited*\n${cited.join('\n')}`));
  }
  blocks.push(
    { type: 'divider' },
    section(`*Exactly what will run* (${plan.steps.length} step${plan.steps.length > 1 ? 's' : ''}, in order)`),
  );
  const steps = plan.steps.flatMap(stepBlocks);
  const tail: Block[] = [];
  if (plan.rollback) tail.push(section(`*Rollback*\n${escapeMrkdwn(plan.rollback)}`));
  if (plan.checks.length > 0)
    tail.push(section(`*Proof afterwards*\n${plan.checks.map((c) => `• ${escapeMrkdwn(c.name)} (${c.kind})`).join('\n')}`));
  tail.push(context(`Plan hash \`${view.planHash}\`: an approval binds to exactly this plan.`));
  const state = outcome(view);
  if (state) tail.push(section(state));

  const room = MAX_BLOCKS - blocks.length - tail.length - 1;
  const complete = steps.length <= room;
  if (complete) blocks.push(...steps);
  else {
    blocks.push(
      section(
        `:warning: The plan is too long to show whole here${options.consoleUrl ? `: see <${options.consoleUrl}|the approval console>` : ' : use the web console or `vigil approve`'}. It cannot be approved from Slack.`,
      ),
    );
  }
  blocks.push(...tail);
  if (view.state === 'pending' && complete) blocks.push(decisionButtons(view, request.risk === 'CRITICAL' || needed > 1));
  const text = `Approval needed for ${request.service} (${request.risk}, incident ${view.incidentId}): ${plan.steps.length} step(s)${state ? ` — ${view.state}` : ''}`;
  return { text, blocks, complete };
}

/** What a button carries: which request (incident and plan hash) the click decides. */
export function buttonValue(incidentId: string, planHash: string): string {
  return JSON.stringify({ incidentId, planHash });
}

export function parseButtonValue(value: string | undefined): { incidentId: string; planHash: string } | undefined {
  try {
    const parsed = JSON.parse(value ?? '') as { incidentId?: unknown; planHash?: unknown };
    if (typeof parsed.incidentId === 'string' && typeof parsed.planHash === 'string' && /^[a-f0-9]{64}$/.test(parsed.planHash)) {
      return { incidentId: parsed.incidentId, planHash: parsed.planHash };
    }
  } catch {
    // not ours
  }
  return undefined;
}

function decisionButtons(view: ApprovalView, confirm: boolean): Block {
  const value = buttonValue(view.incidentId, view.planHash);
  return {
    type: 'actions',
    block_id: DECISION_BLOCK,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION,
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value,
        ...(confirm
          ? {
              confirm: {
                title: { type: 'plain_text', text: 'Approve this plan?' },
                text: {
                  type: 'mrkdwn',
                  text: `Risk ${view.request.risk}: the steps above will run on ${escapeMrkdwn(view.request.service)}.`,
                },
                confirm: { type: 'plain_text', text: 'Approve' },
                deny: { type: 'plain_text', text: 'Back' },
              },
            }
          : {}),
      },
      { type: 'button', action_id: DENY_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Deny' }, value },
    ],
  };
}
