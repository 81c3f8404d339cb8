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

const fromRow = (row: IncidentRow | undefined): Incident | null => (row ? { ...row.state, version: row.version } : null);

/** Loads an incident and locks its row for this transaction. */
export async function lockIncident(tx: Queryable, id: string): Promise<Incident | null> {
  const { rows } = await tx.query<IncidentRow>('SELECT state, version FROM incidents WHERE id = $1 FOR UPDATE', [id]);
  return fromRow(rows[0]);
}

/** The open incident this dedup key belongs to: its own key, or one correlated with it. */
export async function lockOpenByDedupKey(tx: Queryable, dedupKey: string): Promise<Incident | null> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT state, version FROM incidents
     WHERE closed_at IS NULL AND id = ANY (ARRAY(
       SELECT id FROM incidents WHERE dedup_key = $1 AND closed_at IS NULL
       UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
     ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE`,
    [dedupKey],
  );
  return fromRow(rows[0]);
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
): Promise<Incident | null> {
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
  const { rows } = await tx.query<IncidentRow>(
    `SELECT state, version FROM incidents
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
  return fromRow(rows[0]);
}

/** The open incident the paging system knows by this id, else its most recent one. */
export async function lockByExternalId(tx: Queryable, externalId: string): Promise<Incident | null> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT state, version FROM incidents WHERE external_incident_id = $1
     ORDER BY (closed_at IS NULL) DESC, triggered_at DESC LIMIT 1 FOR UPDATE`,
    [externalId],
  );
  return fromRow(rows[0]);
}

/** The most recent incident with this dedup key, open or closed. */
export async function lockLatestByDedupKey(tx: Queryable, dedupKey: string): Promise<Incident | null> {
  const { rows } = await tx.query<IncidentRow>(
    `SELECT state, version FROM incidents
     WHERE id = ANY (ARRAY(SELECT id FROM incidents WHERE dedup_key = $1 UNION ALL SELECT incident_id FROM incident_keys WHERE dedup_key = $1))
     ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE`,
    [dedupKey],
  );
  return fromRow(rows[0]);
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
 * Stores what a transition did, in the caller's transaction: the incident (optimistic version
 * check), its timeline entries chained by hash, the outgoing events in the outbox, and its one
 * deadline. Either all of it commits or none of it does.
 */
export async function saveTransition(tx: Queryable, before: Incident | null, result: TransitionResult, now: Date): Promise<void> {
  const incident = result.incident;
  if (!incident) return;
  const version = (before?.version ?? 0) + 1;
  const state = { ...incident, version };
  const closedAt = isClosed(incident.stage) ? (incident.outcome?.at ?? now.toISOString()) : null;
  let head: { seq: number; hash: string };
  let entries: TimelineEntry[];
  if (before === null) {
    head = { seq: 0, hash: GENESIS_HASH };
    entries = chain(incident.id, head, result.timeline, now);
    const tip = entries.at(-1) ?? head;
    await tx.query(
      `INSERT INTO incidents (id, version, stage, service, dedup_key, external_incident_id, triggered_at, updated_at, closed_at, state,
                              timeline_head_seq, timeline_head_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        incident.id,
        version,
        incident.stage,
        incident.service,
        incident.dedupKey,
        incident.externalIncidentId ?? null,
        incident.triggeredAt,
        now.toISOString(),
        closedAt,
        toJsonb(state),
        tip.seq,
        entries.length > 0 ? tip.hash : null,
      ],
    );
  } else {
    // The head of the chain comes back with the update (the row is ours: nobody else appends).
    const updated = await tx.query<{ timeline_head_seq: number; timeline_head_hash: string | null }>(
      `UPDATE incidents SET version = $2, stage = $3, updated_at = $4, closed_at = $5, state = $6, external_incident_id = $7
       WHERE id = $1 AND version = $8 RETURNING timeline_head_seq, timeline_head_hash`,
      [
        incident.id,
        version,
        incident.stage,
        now.toISOString(),
        closedAt,
        toJsonb(state),
        incident.externalIncidentId ?? null,
        before.version,
      ],
    );
    const row = updated.rows[0];
    if (!row) {
      throw new VigilError('SAGA_CONFLICT', `incident ${incident.id} changed underneath this transition`, {
        retryable: true,
        retryAfterMs: 50,
      });
    }
    head = row.timeline_head_hash ? { seq: row.timeline_head_seq, hash: row.timeline_head_hash } : await lastEntry(tx, incident.id);
    entries = chain(incident.id, head, result.timeline, now);
  }

  if (incident.correlated?.length) {
    await tx.query('INSERT INTO incident_keys (dedup_key, incident_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING', [
      incident.correlated.map((c) => c.dedupKey),
      incident.id,
    ]);
  }

  const last = entries.at(-1);
  if (last) {
    // One statement for the entries (and, for an incident already stored, its new head).
    const values = entries.map((_, i) => `(${Array.from({ length: 10 }, (__, k) => `$${i * 10 + k + 1}`).join(', ')})`).join(', ');
    const params = entries.flatMap((e) => [
      e.incidentId,
      e.seq,
      e.at,
      e.kind,
      e.summary,
      e.eventId,
      e.eventType,
      toJsonb(e.data),
      e.prevHash,
      e.hash,
    ]);
    const insert = `INSERT INTO timeline (incident_id, seq, at, kind, summary, event_id, event_type, data, prev_hash, hash) VALUES ${values}`;
    if (before === null) await tx.query(insert, params);
    else {
      const n = params.length;
      await tx.query(
        `WITH appended AS (${insert})
         UPDATE incidents SET timeline_head_seq = $${n + 2}, timeline_head_hash = $${n + 3} WHERE id = $${n + 1}`,
        [...params, incident.id, last.seq, last.hash],
      );
    }
  }

  if (result.commands.length > 0) {
    await tx.query(
      `INSERT INTO outbox (event_id, incident_id, event)
       SELECT unnest($1::text[]), $2, unnest($3::jsonb[]) ON CONFLICT (event_id) DO NOTHING`,
      [result.commands.map((c) => c.id), incident.id, result.commands.map((c) => toJsonb(c))],
    );
  }

  if (result.deadline === null) await tx.query('DELETE FROM timers WHERE incident_id = $1', [incident.id]);
  else if (result.deadline !== undefined) {
    await tx.query(
      `INSERT INTO timers (incident_id, stage, due_at) VALUES ($1, $2, $3)
       ON CONFLICT (incident_id) DO UPDATE SET stage = excluded.stage, due_at = excluded.due_at`,
      [incident.id, result.deadline.stage, result.deadline.dueAt],
    );
  }
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
