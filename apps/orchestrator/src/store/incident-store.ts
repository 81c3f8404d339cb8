import { VigilError } from '@vigil/errors';
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

export async function lockOpenByDedupKey(tx: Queryable, dedupKey: string): Promise<Incident | null> {
  const { rows } = await tx.query<IncidentRow>(
    'SELECT state, version FROM incidents WHERE dedup_key = $1 AND closed_at IS NULL FOR UPDATE',
    [dedupKey],
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
    'SELECT state, version FROM incidents WHERE dedup_key = $1 ORDER BY triggered_at DESC LIMIT 1 FOR UPDATE',
    [dedupKey],
  );
  return fromRow(rows[0]);
}

/**
 * Text Postgres' jsonb refuses (NUL characters, lone UTF-16 surrogates), replaced so that any
 * alert text can be stored: an alert that cannot be stored would be an alert lost.
 */
export function toJsonb(value: unknown): string {
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
    `SELECT id FROM incidents WHERE dedup_key = $1 AND stage = 'RESOLVED' AND closed_at >= $2
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
  if (before === null) {
    await tx.query(
      `INSERT INTO incidents (id, version, stage, service, dedup_key, external_incident_id, triggered_at, updated_at, closed_at, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
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
      ],
    );
  } else {
    const updated = await tx.query(
      `UPDATE incidents SET version = $2, stage = $3, updated_at = $4, closed_at = $5, state = $6, external_incident_id = $7
       WHERE id = $1 AND version = $8`,
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
    if (updated.rowCount === 0) {
      throw new VigilError('SAGA_CONFLICT', `incident ${incident.id} changed underneath this transition`, {
        retryable: true,
        retryAfterMs: 50,
      });
    }
  }

  const last = await tx.query<{ seq: number; hash: string }>(
    'SELECT seq, hash FROM timeline WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1',
    [incident.id],
  );
  let seq = last.rows[0]?.seq ?? 0;
  let prevHash = last.rows[0]?.hash ?? GENESIS_HASH;
  for (const draft of result.timeline) {
    seq += 1;
    const entry = {
      incidentId: incident.id,
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
    await tx.query(
      `INSERT INTO timeline (incident_id, seq, at, kind, summary, event_id, event_type, data, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [entry.incidentId, seq, entry.at, entry.kind, entry.summary, entry.eventId, entry.eventType, toJsonb(entry.data), prevHash, hash],
    );
    prevHash = hash;
  }
  if (result.timeline.length > 0) {
    await tx.query('UPDATE incidents SET timeline_head_seq = $2, timeline_head_hash = $3 WHERE id = $1', [incident.id, seq, prevHash]);
  }

  for (const command of result.commands) {
    await tx.query('INSERT INTO outbox (event_id, incident_id, event) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING', [
      command.id,
      incident.id,
      toJsonb(command),
    ]);
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
