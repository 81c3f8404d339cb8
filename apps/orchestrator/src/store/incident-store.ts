import { VigilError } from '@vigil/errors';
import { AlertSource } from '@vigil/events';
import type { Queryable } from '@vigil/db';
import { isClosed, type Incident } from '../domain/incident.js';
import { entryHash, GENESIS_HASH, type TimelineEntry } from '@vigil/audit';
import type { TransitionResult } from '../domain/transition.js';

interface IncidentRow {
  state: Incident;
  version: number;
}

interface LockedRow extends IncidentRow {
  timeline_head_seq: number;
  timeline_head_hash: string | null;
}

/** An incident read under its row lock, with where its timeline ends (the next entries chain from there). */
export interface LockedIncident {
  incident: Incident;
  /** The last entry's number and hash; the hash is null for incidents stored before the row kept it. */
  head: { seq: number; hash: string | null };
}

/** What every lock reads: the state and the chain head. */
const LOCKED_COLUMNS = 'state, version, timeline_head_seq, timeline_head_hash';

const fromRow = (row: IncidentRow | undefined): Incident | null => (row ? { ...row.state, version: row.version } : null);

const toLocked = (row: LockedRow | undefined): LockedIncident | null =>
  row ? { incident: { ...row.state, version: row.version }, head: { seq: row.timeline_head_seq, hash: row.timeline_head_hash } } : null;

/** Loads an incident and locks its row for this transaction. */
export async function lockIncident(tx: Queryable, id: string): Promise<LockedIncident | null> {
  const { rows } = await tx.query<LockedRow>(`SELECT ${LOCKED_COLUMNS} FROM incidents WHERE id = $1 FOR UPDATE`, [id]);
  return toLocked(rows[0]);
}

/**
 * Claims an event in the consumer's inbox and locks the incident it is about, in one statement:
 * `claimed` is false when the event was handled before (a redelivery). The lock is taken either way
 * and released with the transaction. Two deliveries of one event wait for each other on the inbox
 * row or the incident row, whichever this statement reaches first; a copy of an older release
 * (inbox first, then the lock) racing one of these on the same redelivery can meet it in a
 * deadlock, which Postgres breaks and the saga retries.
 */
export async function claimAndLockIncident(
  tx: Queryable,
  claim: { consumer: string; eventId: string },
  id: string,
): Promise<{ claimed: boolean; locked: LockedIncident | null }> {
  const { rows } = await tx.query<{ claimed: number } & Partial<LockedRow>>(
    `WITH claim AS (INSERT INTO vigil_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1)
     SELECT (SELECT count(*) FROM claim)::int AS claimed, i.*
     FROM (SELECT 1) AS one LEFT JOIN (SELECT ${LOCKED_COLUMNS} FROM incidents WHERE id = $3 FOR UPDATE) AS i ON true`,
    [claim.consumer, claim.eventId, id],
  );
  const row = rows[0];
  return { claimed: (row?.claimed ?? 0) > 0, locked: row?.state ? toLocked(row as LockedRow) : null };
}

/** The open incident this dedup key belongs to: its own key, or one correlated with it. */
export async function lockOpenByDedupKey(tx: Queryable, dedupKey: string): Promise<LockedIncident | null> {
  const { rows } = await tx.query<LockedRow>(
    `SELECT ${LOCKED_COLUMNS} FROM incidents
     WHERE closed_at IS NULL AND id = ANY (ARRAY(
       SELECT id FROM incidents WHERE dedup_key = $1 AND closed_at IS NULL
       UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
     ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE`,
    [dedupKey],
  );
  return toLocked(rows[0]);
}

/**
 * The open incident for the same alert (service and alert name) that another channel opened and
 * no trigger from `source` has reached yet: the same alert reported through another channel.
 *
 * Two channels racing to open the alert must not open two incidents, yet alerts of one channel
 * (many instances, many dedup keys) must not queue behind each other. So an opener announces
 * itself with a shared lock on (alert, its channel) held to commit, then waits for the openers of
 * every other channel in flight (a momentary exclusive lock on theirs): openers of one channel
 * never wait for each other; openers of two channels are ordered (or, when they meet head on,
 * one is chosen as a deadlock victim and retried), and the later one finds the earlier one's
 * incident.
 */
export async function lockSameAlertFromOtherSource(
  tx: Queryable,
  alert: { service: string; alertName: string; source: string; dedupKey: string },
): Promise<LockedIncident | null> {
  const key = (source: string): string => `vigil:correlate:${alert.service}:${alert.alertName}:${source}`;
  const others = AlertSource.options.filter((source) => source !== alert.source);
  // One statement: the shared lock first, then each other channel's lock taken and released at
  // once (so nothing but the shared lock stays held, whatever happens next).
  await tx.query(
    `SELECT pg_advisory_xact_lock_shared(hashtext($1)), ${others
      .map((_, i) => `pg_advisory_lock(hashtext($${i + 2})), pg_advisory_unlock(hashtext($${i + 2}))`)
      .join(', ')}`,
    [key(alert.source), ...others.map(key)],
  );
  // The incident this key reached meanwhile (an opener we waited for attached it), else the one
  // another channel opened that no trigger from this one has reached yet — only when it is the
  // only open one for this alert: with several (one per instance, say) nothing here tells which
  // is ours, and a second incident is better than closing the wrong one. The candidates are
  // chosen first, then locked: a candidate a racing trigger of this channel just attached to
  // stays the answer once its lock is ours (this trigger then attaches there too).
  const { rows } = await tx.query<LockedRow>(
    `SELECT ${LOCKED_COLUMNS} FROM incidents
     WHERE closed_at IS NULL AND id = ANY (ARRAY(
       SELECT id FROM incidents WHERE dedup_key = $5 AND closed_at IS NULL
       UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $5
       UNION ALL (SELECT min(id) FROM incidents
                  WHERE closed_at IS NULL AND service = $1 AND state ->> 'alertName' = $2 AND state ->> 'source' = ANY ($3::text[])
                  HAVING count(*) = 1
                     AND NOT bool_or(coalesce(state -> 'correlated', '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('source', $4::text))))))
     ORDER BY (dedup_key = $5 OR coalesce(state -> 'correlated', '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('dedupKey', $5::text))) DESC,
              triggered_at DESC
     LIMIT 1 FOR UPDATE`,
    [alert.service, alert.alertName, others, alert.source, alert.dedupKey],
  );
  return toLocked(rows[0]);
}

/** The open incident the paging system knows by this id, else its most recent one. */
export async function lockByExternalId(tx: Queryable, externalId: string): Promise<LockedIncident | null> {
  const { rows } = await tx.query<LockedRow>(
    `SELECT ${LOCKED_COLUMNS} FROM incidents WHERE external_incident_id = $1
     ORDER BY (closed_at IS NULL) DESC, triggered_at DESC LIMIT 1 FOR UPDATE`,
    [externalId],
  );
  return toLocked(rows[0]);
}

/** The most recent incident with this dedup key, open or closed. */
export async function lockLatestByDedupKey(tx: Queryable, dedupKey: string): Promise<LockedIncident | null> {
  const { rows } = await tx.query<LockedRow>(
    `SELECT ${LOCKED_COLUMNS} FROM incidents
     WHERE id = ANY (ARRAY(SELECT id FROM incidents WHERE dedup_key = $1 UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
     ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE`,
    [dedupKey],
  );
  return toLocked(rows[0]);
}

/**
 * Text Postgres' jsonb refuses (NUL characters, lone UTF-16 surrogates), replaced so that any
 * alert text can be stored: an alert that cannot be stored would be an alert lost.
 */
export function toJsonb(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify writes a NUL as \u0000 and a lone surrogate as \udXXX: only then the slow path.
  if (!/\\u(?:0000|d[89a-f])/i.test(text)) return text;
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string'
      ? v.replaceAll('\u0000', '\uFFFD').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
      : v,
  );
}

/** The incident with this dedup key resolved after `since`, if any: a trigger now is a re-fire. */
export async function resolvedSince(tx: Queryable, dedupKey: string, since: Date): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    // Only a fix Vigil made and proved can fail to hold; a human's or the pager's resolution is not judged.
    `SELECT id FROM incidents
     WHERE id = ANY (ARRAY(SELECT id FROM incidents WHERE dedup_key = $1 UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
       AND stage = 'RESOLVED' AND closed_at >= $2
       AND state->'outcome'->>'reason' = 'remediated' ORDER BY closed_at DESC LIMIT 1`,
    [dedupKey, since.toISOString()],
  );
  return rows[0]?.id;
}

/**
 * Stores what a transition did, in the caller's transaction and in one statement: the incident
 * (optimistic version check) with its new chain head, its timeline entries chained by hash, the
 * outgoing events in the outbox, its one deadline, and the keys it was correlated with. Either all
 * of it commits or none of it does.
 */
export async function saveTransition(tx: Queryable, before: LockedIncident | null, result: TransitionResult, now: Date): Promise<void> {
  const incident = result.incident;
  if (!incident) return;
  const version = (before?.incident.version ?? 0) + 1;
  const state = { ...incident, version };
  const closedAt = isClosed(incident.stage) ? (incident.outcome?.at ?? now.toISOString()) : null;
  const head = before === null ? { seq: 0, hash: GENESIS_HASH } : await chainHead(tx, incident.id, before.head);
  const entries = chain(incident.id, head, result.timeline, now);
  const tip = entries.at(-1) ?? head;

  const params: unknown[] = [];
  const $ = (value: unknown): string => `$${params.push(value)}`;
  const id = $(incident.id);
  const parts: string[] = [];
  if (before === null) {
    parts.push(
      `saved AS (INSERT INTO incidents (id, version, stage, service, dedup_key, external_incident_id, triggered_at, updated_at, closed_at,
                                        state, timeline_head_seq, timeline_head_hash)
                 VALUES (${id}, ${$(version)}, ${$(incident.stage)}, ${$(incident.service)}, ${$(incident.dedupKey)},
                         ${$(incident.externalIncidentId ?? null)}, ${$(incident.triggeredAt)}, ${$(now.toISOString())}, ${$(closedAt)},
                         ${$(toJsonb(state))}, ${$(tip.seq)}, ${$(entries.length > 0 ? tip.hash : null)})
                 RETURNING 1)`,
    );
  } else {
    parts.push(
      `saved AS (UPDATE incidents SET version = ${$(version)}, stage = ${$(incident.stage)}, updated_at = ${$(now.toISOString())},
                        closed_at = ${$(closedAt)}, state = ${$(toJsonb(state))}, external_incident_id = ${$(incident.externalIncidentId ?? null)}
                        ${entries.length > 0 ? `, timeline_head_seq = ${$(tip.seq)}, timeline_head_hash = ${$(tip.hash)}` : ''}
                 WHERE id = ${id} AND version = ${$(before.incident.version)} RETURNING 1)`,
    );
  }
  if (entries.length > 0) {
    const rows = entries.map(
      (e) =>
        `(${[e.incidentId, e.seq, e.at, e.kind, e.summary, e.eventId, e.eventType, toJsonb(e.data), e.prevHash, e.hash].map($).join(', ')})`,
    );
    parts.push(
      `entries AS (INSERT INTO timeline (incident_id, seq, at, kind, summary, event_id, event_type, data, prev_hash, hash) VALUES ${rows.join(', ')})`,
    );
  }
  if (incident.correlated?.length) {
    parts.push(
      `keys AS (INSERT INTO incident_keys (dedup_key, incident_id)
                SELECT unnest(${$(incident.correlated.map((c) => c.dedupKey))}::text[]), ${id} ON CONFLICT DO NOTHING)`,
    );
  }
  if (result.commands.length > 0) {
    parts.push(
      `queued AS (INSERT INTO outbox (event_id, incident_id, event)
                  SELECT unnest(${$(result.commands.map((c) => c.id))}::text[]), ${id}, unnest(${$(result.commands.map((c) => toJsonb(c)))}::jsonb[])
                  ON CONFLICT (event_id) DO NOTHING)`,
    );
  }
  if (result.deadline === null) parts.push(`deadline AS (DELETE FROM timers WHERE incident_id = ${id})`);
  else if (result.deadline !== undefined) {
    parts.push(
      `deadline AS (INSERT INTO timers (incident_id, stage, due_at) VALUES (${id}, ${$(result.deadline.stage)}, ${$(result.deadline.dueAt)})
                    ON CONFLICT (incident_id) DO UPDATE SET stage = excluded.stage, due_at = excluded.due_at)`,
    );
  }
  const { rows } = await tx.query<{ saved: number }>(`WITH ${parts.join(',\n')}\nSELECT count(*)::int AS saved FROM saved`, params);
  if (before !== null && rows[0]?.saved !== 1) {
    // The row is locked by this transaction, so this means a copy without the lock wrote it: the
    // transaction rolls back, and the retry starts from what is stored.
    throw new VigilError('SAGA_CONFLICT', `incident ${incident.id} changed underneath this transition`, {
      retryable: true,
      retryAfterMs: 50,
    });
  }
}

/** Where the chain continues: the head the lock read, or, for incidents stored before the row kept it, the timeline's last entry. */
async function chainHead(tx: Queryable, incidentId: string, head: LockedIncident['head']): Promise<{ seq: number; hash: string }> {
  return head.hash !== null ? { seq: head.seq, hash: head.hash } : lastEntry(tx, incidentId);
}

/** The transition's entries, numbered and hash-chained after `head`. */
function chain(incidentId: string, head: { seq: number; hash: string }, drafts: TransitionResult['timeline'], now: Date): TimelineEntry[] {
  let { seq, hash: prevHash } = head;
  return drafts.map((draft) => {
    seq += 1;
    const entry = {
      incidentId,
      seq,
      at: now.toISOString(),
      kind: draft.kind,
      summary: draft.summary,
      eventId: draft.eventId ?? null,
      eventType: draft.eventType ?? null,
      data: JSON.parse(toJsonb(draft.data ?? {})) as Record<string, unknown>,
      prevHash,
    };
    const hash = entryHash(entry);
    prevHash = hash;
    return { ...entry, hash };
  });
}

/** The chain's head read from the timeline itself: for incidents stored before the head was kept on the row. */
async function lastEntry(tx: Queryable, incidentId: string): Promise<{ seq: number; hash: string }> {
  const { rows } = await tx.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM timeline WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1',
    [incidentId],
  );
  return rows[0] ?? { seq: 0, hash: GENESIS_HASH };
}

interface TimelineRow {
  incident_id: string;
  seq: number;
  at: Date | string;
  kind: string;
  summary: string;
  event_id: string | null;
  event_type: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());

export async function readTimeline(q: Queryable, incidentId: string): Promise<TimelineEntry[]> {
  const { rows } = await q.query<TimelineRow>('SELECT * FROM timeline WHERE incident_id = $1 ORDER BY seq', [incidentId]);
  return rows.map((r) => ({
    incidentId: r.incident_id,
    seq: r.seq,
    at: iso(r.at),
    kind: r.kind,
    summary: r.summary,
    eventId: r.event_id,
    eventType: r.event_type,
    data: r.data,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}

/** Where an incident's timeline ends, as the incident row records it. */
export async function readTimelineHead(q: Queryable, incidentId: string): Promise<{ seq: number; hash: string | null } | null> {
  const { rows } = await q.query<{ seq: number; hash: string | null }>(
    'SELECT timeline_head_seq AS seq, timeline_head_hash AS hash FROM incidents WHERE id = $1',
    [incidentId],
  );
  return rows[0] ?? null;
}

export async function readIncident(q: Queryable, id: string): Promise<Incident | null> {
  const { rows } = await q.query<IncidentRow>('SELECT state, version FROM incidents WHERE id = $1', [id]);
  return fromRow(rows[0]);
}

export interface IncidentSummary {
  id: string;
  stage: string;
  service: string;
  title: string;
  dedupKey: string;
  occurrences: number;
  triggeredAt: string;
  updatedAt: string;
  outcome?: Incident['outcome'];
}

export async function listIncidents(
  q: Queryable,
  filter: { stage?: string; service?: string; limit?: number } = {},
): Promise<IncidentSummary[]> {
  const { rows } = await q.query<{ state: Incident; updated_at: Date | string }>(
    `SELECT state, updated_at FROM incidents
     WHERE ($1::text IS NULL OR stage = $1) AND ($2::text IS NULL OR service = $2)
     ORDER BY updated_at DESC LIMIT $3`,
    [filter.stage ?? null, filter.service ?? null, filter.limit ?? 100],
  );
  return rows.map(({ state, updated_at }) => ({
    id: state.id,
    stage: state.stage,
    service: state.service,
    title: state.title,
    dedupKey: state.dedupKey,
    occurrences: state.occurrences,
    triggeredAt: state.triggeredAt,
    updatedAt: iso(updated_at),
    ...(state.outcome ? { outcome: state.outcome } : {}),
  }));
}
