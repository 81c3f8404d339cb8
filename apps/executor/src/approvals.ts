import type { EventHandler } from '@vigil/bus';
import type { Db } from '@vigil/db';

/**
 * The executor's own record of approvals, from the approver's events: an incident that asked a
 * human runs only the plan whose hash the human approved.
 */
export function approvalHandlers(db: Db): {
  'approval.requested': EventHandler<'approval.requested'>;
  'approval.decided': EventHandler<'approval.decided'>;
} {
  return {
    'approval.requested': async (event) => {
      if (!event.incidentId) return;
      await db.query("INSERT INTO approvals (incident_id, plan_hash, decision) VALUES ($1, $2, 'requested') ON CONFLICT DO NOTHING", [
        event.incidentId,
        event.data.planHash,
      ]);
    },
    'approval.decided': async (event) => {
      if (!event.incidentId) return;
      await db.query(
        `INSERT INTO approvals (incident_id, plan_hash, decision) VALUES ($1, $2, $3)
         ON CONFLICT (incident_id, plan_hash) DO UPDATE SET decision = excluded.decision, at = now()`,
        [event.incidentId, event.data.planHash, event.data.decision],
      );
    },
  };
}

export type ApprovalCheck = { ok: true } | { ok: false; final: boolean; reason: string };

/**
 * Whether a step of this plan may run. No approval asked (the command says so, and none was
 * heard): the gate let it act alone. Asked: only an approved plan with this very hash runs; a decision not heard yet is
 * waited for (not final), anything else is refused (final).
 */
export async function checkApproval(db: Db, incidentId: string, planHash: string, required: boolean): Promise<ApprovalCheck> {
  const { rows } = await db.query<{ plan_hash: string; decision: string }>(
    'SELECT plan_hash, decision FROM approvals WHERE incident_id = $1',
    [incidentId],
  );
  // The command says a human was asked, and this executor has not heard of it yet: wait, never run.
  if (rows.length === 0)
    return required ? { ok: false, final: false, reason: 'the approval of this plan has not been heard yet' } : { ok: true };
  const mine = rows.find((r) => r.plan_hash === planHash);
  if (mine?.decision === 'approved') return { ok: true };
  if (mine?.decision === 'requested') return { ok: false, final: false, reason: 'the approval for this plan has not been decided yet' };
  if (mine) return { ok: false, final: true, reason: `this plan was ${mine.decision}, not approved` };
  return {
    ok: false,
    final: true,
    reason: `the plan's hash ${planHash.slice(0, 12)}… differs from the one a human was asked to approve (${rows.map((r) => `${r.plan_hash.slice(0, 12)}… ${r.decision}`).join(', ')})`,
  };
}

/**
 * A compensation runs only if this executor produced it: the inverse recorded with an earlier
 * result of the same incident. Anything else sent as `compensate` would bypass the gate.
 */
export async function isRecordedCompensation(db: Db, incidentId: string, step: unknown): Promise<boolean> {
  const { rows } = await db.query<{ compensation: unknown }>(
    "SELECT result->'compensation' AS compensation FROM executions WHERE incident_id = $1 AND result ? 'compensation'",
    [incidentId],
  );
  const wanted = canonical(step);
  return rows.some((row) => canonical(typeof row.compensation === 'string' ? JSON.parse(row.compensation) : row.compensation) === wanted);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
