import type { Db, Queryable } from '@vigil/db';
import type { ContextMatch } from '@vigil/events';
import {
  afterFire,
  incidentPassage,
  searchableText,
  standingAt,
  type AlertFire,
  type LearnedIncident,
  type LearnedStanding,
  type Provenance,
} from './domain/learning.js';
import type { SearchRequest } from './runbook-store.js';

interface LearnedRow {
  incident_id: string;
  event_id: string;
  service: string;
  dedup_key: string;
  alert_name: string | null;
  title: string;
  how: LearnedIncident['how'];
  standing: LearnedStanding;
  resolved_at: Date | string;
  window_ends_at: Date | string | null;
  refired_at: Date | string | null;
  refired_by: string | null;
  settled_at: Date | string | null;
  provenance: Provenance;
}

const columns = `incident_id, event_id, service, dedup_key, alert_name, title, how, standing, resolved_at, window_ends_at,
  refired_at, refired_by, settled_at, provenance`;

const qualifiedColumns = columns
  .split(',')
  .map((c) => `l.${c.trim()}`)
  .join(', ');

const toDate = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));

function fromRow(row: LearnedRow): LearnedIncident {
  return {
    incidentId: row.incident_id,
    eventId: row.event_id,
    service: row.service,
    dedupKey: row.dedup_key,
    ...(row.alert_name !== null ? { alertName: row.alert_name } : {}),
    title: row.title,
    how: row.how,
    standing: row.standing,
    resolvedAt: toDate(row.resolved_at),
    ...(row.window_ends_at !== null ? { windowEndsAt: toDate(row.window_ends_at) } : {}),
    ...(row.refired_at !== null ? { refiredAt: toDate(row.refired_at) } : {}),
    ...(row.refired_by !== null ? { refiredBy: row.refired_by } : {}),
    ...(row.settled_at !== null ? { settledAt: toDate(row.settled_at) } : {}),
    provenance: row.provenance,
  };
}

const iso = (d: Date | undefined): string | null => d?.toISOString() ?? null;

async function saveSettlement(q: Queryable, record: LearnedIncident): Promise<void> {
  await q.query('UPDATE learned_incidents SET standing = $2, refired_at = $3, refired_by = $4, settled_at = $5 WHERE incident_id = $1', [
    record.incidentId,
    record.standing,
    iso(record.refiredAt),
    record.refiredBy ?? null,
    iso(record.settledAt),
  ]);
}

/**
 * Records a resolution (idempotent: keyed by incident id, a redelivery changes nothing), then
 * looks for a re-fire that memory saw before the resolution arrived. Insert and look-up are two
 * transactions on purpose, mirrored by `recordFire`: whichever of a resolution and its re-fire
 * commits second sees the other, without a lock between them.
 */
export async function recordResolution(
  db: Db,
  record: LearnedIncident,
  now: Date,
): Promise<{ duplicate: boolean; record: LearnedIncident }> {
  const text = searchableText(record);
  const inserted = await db.query(
    `INSERT INTO learned_incidents (incident_id, event_id, service, dedup_key, alert_name, title, how, standing, resolved_at,
       window_ends_at, provenance, document)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
       setweight(to_tsvector('english', $12), 'A') || setweight(to_tsvector('english', $13), 'B') || setweight(to_tsvector('english', $14), 'C'))
     ON CONFLICT (incident_id) DO NOTHING`,
    [
      record.incidentId,
      record.eventId,
      record.service,
      record.dedupKey,
      record.alertName ?? null,
      record.title,
      record.how,
      record.standing,
      record.resolvedAt.toISOString(),
      iso(record.windowEndsAt),
      JSON.stringify(record.provenance),
      text.title,
      text.labels,
      text.body,
    ],
  );
  const current = await db.transaction(async (tx) => {
    const { rows } = await tx.query<LearnedRow>(`SELECT ${columns} FROM learned_incidents WHERE incident_id = $1 FOR UPDATE`, [
      record.incidentId,
    ]);
    let stored = fromRow(rows[0] as LearnedRow);
    if (stored.windowEndsAt === undefined) return stored;
    const fires = await tx.query<{
      event_id: string;
      service: string;
      dedup_key: string;
      alert_name: string | null;
      fired_at: Date | string;
    }>(
      `SELECT event_id, service, dedup_key, alert_name, fired_at FROM alert_fires
       WHERE (dedup_key = $1 OR (service = $2 AND alert_name = $3::text)) AND fired_at > $4 AND fired_at < $5
       ORDER BY fired_at LIMIT 1`,
      [stored.dedupKey, stored.service, stored.alertName ?? null, stored.resolvedAt.toISOString(), stored.windowEndsAt.toISOString()],
    );
    for (const f of fires.rows) {
      const fire: AlertFire = {
        eventId: f.event_id,
        service: f.service,
        dedupKey: f.dedup_key,
        ...(f.alert_name !== null ? { alertName: f.alert_name } : {}),
        firedAt: toDate(f.fired_at),
      };
      const next = afterFire(stored, fire, now);
      if (next) {
        await saveSettlement(tx, next);
        stored = next;
      }
    }
    return stored;
  });
  return { duplicate: inserted.rowCount === 0, record: current };
}

/**
 * Records an alert firing (idempotent by event id) and marks every fix it re-fires inside the
 * window as ineffective. Returns the records it changed.
 */
export async function recordFire(db: Db, fire: AlertFire, now: Date): Promise<LearnedIncident[]> {
  await db.query(
    `INSERT INTO alert_fires (event_id, service, dedup_key, alert_name, fired_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (event_id) DO NOTHING`,
    [fire.eventId, fire.service, fire.dedupKey, fire.alertName ?? null, fire.firedAt.toISOString()],
  );
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<LearnedRow>(
      `SELECT ${columns} FROM learned_incidents
       WHERE standing <> 'history' AND (dedup_key = $1 OR (service = $2 AND alert_name = $3::text))
         AND resolved_at < $4 AND window_ends_at > $4
       ORDER BY incident_id FOR UPDATE`,
      [fire.dedupKey, fire.service, fire.alertName ?? null, fire.firedAt.toISOString()],
    );
    const changed: LearnedIncident[] = [];
    for (const row of rows) {
      const next = afterFire(fromRow(row), fire, now);
      if (!next) continue;
      await saveSettlement(tx, next);
      changed.push(next);
    }
    return changed;
  });
}

/**
 * The durable timer: every candidate whose window has ended becomes proven, in one statement, so
 * any number of copies can run it at any time (a row is promoted once; a restart loses nothing,
 * the window's end is in the row). Returns the promoted incident ids.
 */
export async function promoteDue(db: Db, now: Date): Promise<string[]> {
  const { rows } = await db.query<{ incident_id: string }>(
    `UPDATE learned_incidents SET standing = 'proven', settled_at = $1
     WHERE standing = 'candidate' AND window_ends_at <= $1 RETURNING incident_id`,
    [now.toISOString()],
  );
  return rows.map((r) => r.incident_id).sort();
}

/** Forgets firings older than `before`: they can no longer fall inside a window still open. */
export async function pruneFires(db: Db, before: Date): Promise<number> {
  return (await db.query('DELETE FROM alert_fires WHERE fired_at < $1', [before.toISOString()])).rowCount;
}

export async function getLearnedIncident(db: Db, incidentId: string): Promise<LearnedIncident | undefined> {
  const { rows } = await db.query<LearnedRow>(`SELECT ${columns} FROM learned_incidents WHERE incident_id = $1`, [incidentId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** How many matching incidents are scored at most; the most recent win. */
const scanLimit = 500;

/**
 * Past incidents, searched and scored the same way as runbooks (0.45 × query-term coverage,
 * 0.35 × an exact alert-name match, 0.20 × a service match; other services left out), each with
 * its standing as of `now`: a candidate whose window has ended is reported proven even before the
 * ticker promotes it. History (resolutions that proved no fix) is not offered as context.
 */
export async function searchIncidents(db: Db, request: SearchRequest, now: Date): Promise<ContextMatch[]> {
  const { rows } = await db.query<LearnedRow & { coverage: number }>(
    `WITH q AS (
       SELECT to_tsvector('english', $1) AS v,
              coalesce(nullif(array_to_string(tsvector_to_array(to_tsvector('english', $1)), ' | '), ''), 'zzzznomatch')::tsquery AS any_term
     )
     SELECT ${qualifiedColumns},
            (SELECT count(*) FROM unnest(tsvector_to_array(q.v)) term WHERE term = ANY (tsvector_to_array(l.document)))::float
              / greatest(1, array_length(tsvector_to_array(q.v), 1)) AS coverage
     FROM learned_incidents l, q
     WHERE l.standing <> 'history'
       AND ($2::text IS NULL OR l.service = $2)
       AND (l.document @@ q.any_term OR lower(l.alert_name) = lower($3::text))
     ORDER BY l.resolved_at DESC
     LIMIT ${scanLimit}`,
    [request.query, request.service ?? null, request.alertName ?? null],
  );
  const matches = rows.flatMap((row): ContextMatch[] => {
    const record = fromRow(row);
    const standing = standingAt(record, now);
    if (standing === 'history') return [];
    const alertMatch = request.alertName !== undefined && record.alertName?.toLowerCase() === request.alertName.toLowerCase() ? 1 : 0;
    const serviceMatch = request.service !== undefined && record.service === request.service ? 1 : 0;
    const score = Math.min(1, 0.45 * row.coverage + 0.35 * alertMatch + 0.2 * serviceMatch);
    return [
      {
        citation: { documentId: record.incidentId, kind: 'incident', title: record.title },
        score: Math.round(score * 1000) / 1000,
        passage: incidentPassage(record, standing),
        standing,
      },
    ];
  });
  // On equal scores a fix that held comes first, then one still in its window, then one that failed.
  const rank = { proven: 0, candidate: 1, ineffective: 2, runbook: 3 } as const;
  return matches
    .filter((m) => m.score > 0)
    .sort((a, b) => b.score - a.score || rank[a.standing] - rank[b.standing])
    .slice(0, request.limit ?? 5);
}
