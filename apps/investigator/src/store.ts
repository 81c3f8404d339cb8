import type { Db, Queryable } from '@vigil/db';
import type { Hypothesis } from '@vigil/events';
import type { ProbeReport } from './domain/findings.js';
import type { ClericView } from './domain/hypothesis.js';

export interface Investigation {
  incidentId: string;
  externalIncidentId: string | null;
  service: string;
  requestEventId: string;
  correlationId: string;
  reports: ProbeReport[];
  status: 'waiting' | 'answered';
  dueAt: Date;
  hypothesis: Hypothesis | null;
}

interface InvestigationRow {
  incident_id: string;
  external_incident_id: string | null;
  service: string;
  request_event_id: string;
  correlation_id: string;
  reports: ProbeReport[] | string;
  status: 'waiting' | 'answered';
  due_at: Date | string;
  hypothesis: Hypothesis | string | null;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

const fromRow = (row: InvestigationRow): Investigation => ({
  incidentId: row.incident_id,
  externalIncidentId: row.external_incident_id,
  service: row.service,
  requestEventId: row.request_event_id,
  correlationId: row.correlation_id,
  reports: json(row.reports),
  status: row.status,
  dueAt: new Date(row.due_at),
  hypothesis: row.hypothesis === null ? null : json(row.hypothesis),
});

/** Records an investigation; a second request for the same incident keeps the first (redelivery). */
export async function openInvestigation(db: Db, investigation: Omit<Investigation, 'status' | 'hypothesis'>): Promise<Investigation> {
  await db.query(
    `INSERT INTO investigations (incident_id, external_incident_id, service, request_event_id, correlation_id, reports, status, due_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7) ON CONFLICT (incident_id) DO NOTHING`,
    [
      investigation.incidentId,
      investigation.externalIncidentId,
      investigation.service,
      investigation.requestEventId,
      investigation.correlationId,
      JSON.stringify(investigation.reports),
      investigation.dueAt.toISOString(),
    ],
  );
  const stored = await findInvestigation(db, investigation.incidentId);
  if (!stored) throw new Error(`investigation ${investigation.incidentId} vanished after it was recorded`);
  return stored;
}

export async function findInvestigation(db: Queryable, incidentId: string): Promise<Investigation | undefined> {
  const { rows } = await db.query<InvestigationRow>('SELECT * FROM investigations WHERE incident_id = $1', [incidentId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Locks an investigation. `skip`: undefined if another copy holds it (the timer moves on);
 * `wait`: waits for that copy to commit, then sees what it decided.
 */
export async function lockInvestigation(tx: Queryable, incidentId: string, mode: 'skip' | 'wait'): Promise<Investigation | undefined> {
  const { rows } = await tx.query<InvestigationRow>(
    `SELECT * FROM investigations WHERE incident_id = $1 FOR UPDATE${mode === 'skip' ? ' SKIP LOCKED' : ''}`,
    [incidentId],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function markAnswered(tx: Queryable, incidentId: string, hypothesis: Hypothesis): Promise<void> {
  await tx.query("UPDATE investigations SET status = 'answered', answered_at = now(), hypothesis = $2 WHERE incident_id = $1", [
    incidentId,
    JSON.stringify(hypothesis),
  ]);
}

/** The incidents under investigation for this external incident (normally one). */
export async function investigationsOf(db: Queryable, externalIncidentId: string): Promise<string[]> {
  const { rows } = await db.query<{ incident_id: string }>('SELECT incident_id FROM investigations WHERE external_incident_id = $1', [
    externalIncidentId,
  ]);
  return rows.map((r) => r.incident_id);
}

/** Waiting investigations whose wait for Cleric is over. */
export async function dueInvestigations(db: Queryable, now: Date, limit = 50): Promise<string[]> {
  const { rows } = await db.query<{ incident_id: string }>(
    "SELECT incident_id FROM investigations WHERE status = 'waiting' AND due_at <= $1 ORDER BY due_at LIMIT $2",
    [now.toISOString(), limit],
  );
  return rows.map((r) => r.incident_id);
}

/** Stores a parsed Cleric note; true when it is new (a redelivered note is stored once). */
export async function recordNote(
  db: Db,
  externalIncidentId: string,
  noteKey: string,
  finding: ClericView,
  notedAt: string,
): Promise<boolean> {
  const result = await db.query(
    'INSERT INTO cleric_notes (external_incident_id, note_key, finding, noted_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [externalIncidentId, noteKey, JSON.stringify(finding), notedAt],
  );
  return result.rowCount > 0;
}

/** The latest Cleric note on an external incident: Cleric's later notes refine its earlier ones. */
export async function latestNote(db: Queryable, externalIncidentId: string): Promise<{ finding: ClericView; noteKey: string } | undefined> {
  const { rows } = await db.query<{ finding: ClericView | string; note_key: string }>(
    'SELECT finding, note_key FROM cleric_notes WHERE external_incident_id = $1 ORDER BY noted_at DESC, note_key DESC LIMIT 1',
    [externalIncidentId],
  );
  return rows[0] ? { finding: json(rows[0].finding), noteKey: rows[0].note_key } : undefined;
}
