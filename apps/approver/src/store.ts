import type { Db, Queryable } from '@vigil/db';
import type { ApprovalDecided, ApprovalRequested } from '@vigil/events';
import type { RequestState, Vote } from './domain/judge.js';
import type { ApprovalView } from './domain/slack-message.js';

export interface RequestKey {
  incidentId: string;
  planHash: string;
}

/** A request as stored, with its votes: what the rules, Slack and the API read. */
export interface ApprovalRecord extends ApprovalView {
  requestEventId: string;
  correlationId: string;
  requestedAt: Date;
  version: number;
  slack: { channel: string | null; ts: string | null; version: number };
}

interface RequestRow {
  incident_id: string;
  plan_hash: string;
  request: ApprovalRequested | string;
  request_event_id: string;
  correlation_id: string;
  requested_at: Date | string;
  expires_at: Date | string;
  state: RequestState;
  version: number;
  decision: ApprovalDecided | string | null;
  slack_channel: string | null;
  slack_ts: string | null;
  slack_version: number;
}

interface VoteRow {
  incident_id: string;
  plan_hash: string;
  person: Vote['person'] | string;
  vote: Vote['vote'];
  via: Vote['via'];
  reason: string | null;
  voted_at: Date | string;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

const fromRow = (row: RequestRow, votes: Vote[]): ApprovalRecord => ({
  incidentId: row.incident_id,
  planHash: row.plan_hash,
  request: json(row.request),
  requestEventId: row.request_event_id,
  correlationId: row.correlation_id,
  requestedAt: new Date(row.requested_at),
  expiresAt: new Date(row.expires_at),
  state: row.state,
  version: row.version,
  decision: row.decision === null ? null : json(row.decision),
  votes,
  slack: { channel: row.slack_channel, ts: row.slack_ts, version: row.slack_version },
});

const voteFromRow = (row: VoteRow): Vote => ({
  person: json(row.person),
  vote: row.vote,
  via: row.via,
  ...(row.reason ? { reason: row.reason } : {}),
  at: new Date(row.voted_at).toISOString(),
});

async function withVotes(db: Queryable, rows: RequestRow[]): Promise<ApprovalRecord[]> {
  if (rows.length === 0) return [];
  const { rows: votes } = await db.query<VoteRow>(
    `SELECT * FROM approval_votes WHERE (incident_id, plan_hash) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY voted_at, person_id`,
    [rows.map((r) => r.incident_id), rows.map((r) => r.plan_hash)],
  );
  return rows.map((row) =>
    fromRow(row, votes.filter((v) => v.incident_id === row.incident_id && v.plan_hash === row.plan_hash).map(voteFromRow)),
  );
}

/** Records a request; the same (incident, plan hash) again changes nothing. True when new. */
export async function insertRequest(
  tx: Queryable,
  entry: RequestKey & {
    request: ApprovalRequested;
    requestEventId: string;
    correlationId: string;
    requestedAt: Date;
    expiresAt: Date;
    slackChannel: string | null;
  },
): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO approval_requests (incident_id, plan_hash, service, risk, request, request_event_id, correlation_id, requested_at, expires_at, state, slack_channel)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) ON CONFLICT (incident_id, plan_hash) DO NOTHING`,
    [
      entry.incidentId,
      entry.planHash,
      entry.request.service,
      entry.request.risk,
      JSON.stringify(entry.request),
      entry.requestEventId,
      entry.correlationId,
      entry.requestedAt.toISOString(),
      entry.expiresAt.toISOString(),
      entry.slackChannel,
    ],
  );
  return result.rowCount > 0;
}

/**
 * A newer plan for an incident replaces older pending ones (the saga only waits for the newest);
 * a request older than one already known is superseded at once. Returns the keys that changed.
 */
export async function supersede(tx: Queryable, key: RequestKey): Promise<RequestKey[]> {
  const { rows } = await tx.query<{ incident_id: string; plan_hash: string }>(
    `UPDATE approval_requests r SET state = 'superseded', version = r.version + 1
      FROM approval_requests me
     WHERE me.incident_id = $1 AND me.plan_hash = $2 AND r.incident_id = me.incident_id AND r.plan_hash <> me.plan_hash
       AND r.state = 'pending' AND r.requested_at < me.requested_at
     RETURNING r.incident_id, r.plan_hash`,
    [key.incidentId, key.planHash],
  );
  const newer = await tx.query(
    `UPDATE approval_requests me SET state = 'superseded', version = version + 1
      WHERE me.incident_id = $1 AND me.plan_hash = $2 AND me.state = 'pending'
        AND EXISTS (SELECT 1 FROM approval_requests r WHERE r.incident_id = me.incident_id AND r.plan_hash <> me.plan_hash AND r.requested_at > me.requested_at)`,
    [key.incidentId, key.planHash],
  );
  const changed = rows.map((r) => ({ incidentId: r.incident_id, planHash: r.plan_hash }));
  return newer.rowCount > 0 ? [...changed, key] : changed;
}

/**
 * Locks a request. `skip`: undefined if another copy holds it (timers move on); `wait`: waits for
 * that copy to commit, then sees what it decided.
 */
export async function lockRequest(tx: Queryable, key: RequestKey, mode: 'skip' | 'wait'): Promise<ApprovalRecord | undefined> {
  const { rows } = await tx.query<RequestRow>(
    `SELECT * FROM approval_requests WHERE incident_id = $1 AND plan_hash = $2 FOR UPDATE${mode === 'skip' ? ' SKIP LOCKED' : ''}`,
    [key.incidentId, key.planHash],
  );
  return (await withVotes(tx, rows))[0];
}

export async function findRequest(db: Queryable, key: RequestKey): Promise<ApprovalRecord | undefined> {
  const { rows } = await db.query<RequestRow>('SELECT * FROM approval_requests WHERE incident_id = $1 AND plan_hash = $2', [
    key.incidentId,
    key.planHash,
  ]);
  return (await withVotes(db, rows))[0];
}

/** An incident's requests, newest first. */
export async function requestsOf(db: Queryable, incidentId: string): Promise<ApprovalRecord[]> {
  const { rows } = await db.query<RequestRow>('SELECT * FROM approval_requests WHERE incident_id = $1 ORDER BY requested_at DESC', [
    incidentId,
  ]);
  return withVotes(db, rows);
}

export async function listRequests(db: Queryable, filter: { state?: RequestState; limit: number }): Promise<ApprovalRecord[]> {
  const { rows } = await db.query<RequestRow>(
    `SELECT * FROM approval_requests WHERE ($1::text IS NULL OR state = $1) ORDER BY ${
      filter.state === 'pending' ? 'expires_at ASC' : 'requested_at DESC'
    } LIMIT $2`,
    [filter.state ?? null, filter.limit],
  );
  return withVotes(db, rows);
}

export async function recordVote(tx: Queryable, key: RequestKey, vote: Vote): Promise<void> {
  await tx.query(
    `INSERT INTO approval_votes (incident_id, plan_hash, person_id, person, vote, via, reason, voted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (incident_id, plan_hash, person_id) DO UPDATE SET vote = EXCLUDED.vote, via = EXCLUDED.via, reason = EXCLUDED.reason, voted_at = EXCLUDED.voted_at`,
    [key.incidentId, key.planHash, vote.person.id, JSON.stringify(vote.person), vote.vote, vote.via, vote.reason ?? null, vote.at],
  );
  await tx.query('UPDATE approval_requests SET version = version + 1 WHERE incident_id = $1 AND plan_hash = $2', [
    key.incidentId,
    key.planHash,
  ]);
}

export async function markDecided(tx: Queryable, key: RequestKey, decision: ApprovalDecided, eventId: string): Promise<void> {
  await tx.query(
    `UPDATE approval_requests SET state = $3, decision = $4, decision_event_id = $5, decided_at = $6, version = version + 1
      WHERE incident_id = $1 AND plan_hash = $2 AND state = 'pending'`,
    [key.incidentId, key.planHash, decision.decision, JSON.stringify(decision), eventId, decision.decidedAt],
  );
}

/** Pending requests whose time is up. */
export async function dueRequests(db: Queryable, now: Date, limit = 50): Promise<RequestKey[]> {
  const { rows } = await db.query<{ incident_id: string; plan_hash: string }>(
    "SELECT incident_id, plan_hash FROM approval_requests WHERE state = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
    [now.toISOString(), limit],
  );
  return rows.map((r) => ({ incidentId: r.incident_id, planHash: r.plan_hash }));
}

/** Requests whose Slack message is behind (never posted while pending, or not showing the latest change). */
export async function slackBehind(db: Queryable, now: Date, limit = 50): Promise<RequestKey[]> {
  const { rows } = await db.query<{ incident_id: string; plan_hash: string }>(
    `SELECT incident_id, plan_hash FROM approval_requests
      WHERE slack_channel IS NOT NULL AND slack_version < version AND (slack_ts IS NOT NULL OR state = 'pending')
        AND (slack_next_at IS NULL OR slack_next_at <= $1)
      ORDER BY requested_at LIMIT $2`,
    [now.toISOString(), limit],
  );
  return rows.map((r) => ({ incidentId: r.incident_id, planHash: r.plan_hash }));
}

export async function markSlackShown(
  tx: Queryable,
  key: RequestKey,
  shown: { ts: string; channel: string; version: number },
): Promise<void> {
  await tx.query(
    `UPDATE approval_requests SET slack_ts = $3, slack_channel = $4, slack_version = $5, slack_attempts = 0, slack_next_at = NULL, slack_error = NULL
      WHERE incident_id = $1 AND plan_hash = $2`,
    [key.incidentId, key.planHash, shown.ts, shown.channel, shown.version],
  );
}

/** A Slack call failed: try again later, backing off (1 s, 2 s, 4 s, … at most 5 min). */
export async function markSlackFailed(tx: Queryable, key: RequestKey, error: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE approval_requests SET slack_attempts = slack_attempts + 1, slack_error = $3,
            slack_next_at = $4::timestamptz + make_interval(secs => least(300, power(2, slack_attempts)))
      WHERE incident_id = $1 AND plan_hash = $2`,
    [key.incidentId, key.planHash, error.slice(0, 500), now.toISOString()],
  );
}

/** True the first time a Slack request signature is seen; false for a replay. */
export async function rememberSlackRequest(db: Db, signature: string, requestTs: number): Promise<boolean> {
  const result = await db.query('INSERT INTO slack_requests_seen (signature, request_ts) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    signature,
    requestTs,
  ]);
  return result.rowCount > 0;
}

/** Forgets signatures older than the oldest timestamp the signature check still lets through. */
export async function forgetSlackRequests(db: Db, olderThanTs: number): Promise<number> {
  return (await db.query('DELETE FROM slack_requests_seen WHERE request_ts < $1', [olderThanTs])).rowCount;
}
