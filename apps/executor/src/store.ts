import type { Db } from '@vigil/db';
import type { ExecutionCompleted, ExecutionRequested } from '@vigil/events';

export interface ExecutionRecord {
  executionId: string;
  incidentId: string;
  stepId: string;
  mode: ExecutionCompleted['mode'];
  status: 'running' | ExecutionCompleted['status'];
  startedAt: Date;
  deadlineAt: Date;
  requestEventId: string;
  correlationId: string;
  result: ExecutionCompleted | null;
  /** The command as claimed (absent on claims made before it was recorded). */
  request: ExecutionRequested | null;
}

interface Row {
  execution_id: string;
  incident_id: string;
  step_id: string;
  mode: ExecutionCompleted['mode'];
  status: ExecutionRecord['status'];
  started_at: Date | string;
  deadline_at: Date | string;
  request_event_id: string;
  correlation_id: string;
  result: ExecutionCompleted | string | null;
  request: ExecutionRequested | string | null;
}

const fromRow = (row: Row): ExecutionRecord => ({
  executionId: row.execution_id,
  incidentId: row.incident_id,
  stepId: row.step_id,
  mode: row.mode,
  status: row.status,
  startedAt: new Date(row.started_at),
  deadlineAt: new Date(row.deadline_at),
  requestEventId: row.request_event_id,
  correlationId: row.correlation_id,
  result: typeof row.result === 'string' ? (JSON.parse(row.result) as ExecutionCompleted) : row.result,
  request: typeof row.request === 'string' ? (JSON.parse(row.request) as ExecutionRequested) : (row.request ?? null),
});

/**
 * The database is the only clock for claims: a claim's start and deadline are stamped by `now()`
 * in SQL, and whether it is overdue is decided there too, never by an executor copy's own clock
 * (copies on other hosts drift; one whose clock ran ahead would otherwise settle or take over
 * another's live claim). Stamps are cut to milliseconds so the value a copy reads back (a JS
 * `Date`) is exactly the stored one; the compare-and-set on the deadline compares at that precision
 * too, so a deadline written with microseconds (by hand, or by an older row) still matches its read.
 */
const STAMP = "date_trunc('milliseconds', now())";
/** The claim's deadline as a copy read it (a JS `Date`: milliseconds) still stands. */
const DEADLINE_AS_READ = (param: string) => `date_trunc('milliseconds', deadline_at) = ${param}::timestamptz`;
const DEADLINE = (param: string) => `${STAMP} + ${param}::float8 * interval '1 millisecond'`;

/**
 * Claims an execution id before anything runs, for `timeoutMs` from now (the database's now).
 * Only the first claim wins, and gets its record back (start and deadline as stored); every later
 * delivery of the same id gets the existing record instead, and never runs the step.
 */
export async function claimExecution(
  db: Db,
  claim: {
    executionId: string;
    incidentId: string;
    stepId: string;
    mode: string;
    /** How long the claim holds before the sweeper may settle it (0: overdue at once unless finished). */
    timeoutMs: number;
    requestEventId: string;
    correlationId: string;
    request?: ExecutionRequested;
  },
): Promise<{ claimed: true; record: ExecutionRecord } | { claimed: false; existing: ExecutionRecord }> {
  const { rows: inserted } = await db.query<Row>(
    `INSERT INTO executions (execution_id, incident_id, step_id, mode, status, started_at, deadline_at, request_event_id, correlation_id, request)
     VALUES ($1, $2, $3, $4, 'running', ${STAMP}, ${DEADLINE('$5')}, $6, $7, $8) ON CONFLICT (execution_id) DO NOTHING RETURNING *`,
    [
      claim.executionId,
      claim.incidentId,
      claim.stepId,
      claim.mode,
      claim.timeoutMs,
      claim.requestEventId,
      claim.correlationId,
      claim.request ? JSON.stringify(claim.request) : null,
    ],
  );
  if (inserted[0]) return { claimed: true, record: fromRow(inserted[0]) };
  const { rows } = await db.query<Row>('SELECT * FROM executions WHERE execution_id = $1', [claim.executionId]);
  if (!rows[0]) throw new Error(`execution ${claim.executionId} vanished after a conflicting claim`);
  return { claimed: false, existing: fromRow(rows[0]) };
}

/**
 * Records the outcome; only a running execution can finish (an unknown one stays unknown). The
 * sweeper passes the claim as it read it: if another copy has taken it over since (a new
 * deadline), that copy is running the step and its outcome is the one that counts.
 */
export async function finishExecution(
  db: Db,
  result: ExecutionCompleted,
  asRead?: Pick<ExecutionRecord, 'deadlineAt'>,
): Promise<ExecutionRecord | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE executions SET status = $2, result = $3, finished_at = now()
     WHERE execution_id = $1 AND status = 'running' AND ($4::timestamptz IS NULL OR ${DEADLINE_AS_READ('$4')}) RETURNING *`,
    [result.executionId, result.status, JSON.stringify(result), asRead ? asRead.deadlineAt.toISOString() : null],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Takes over a running claim that is overdue by the database's clock, for `timeoutMs` from now
 * (the database's now again). Only one copy wins (the deadline it read must still stand), so only
 * one runs the step; the winner gets the claim back as now stored (new start and deadline).
 */
export async function takeOverExecution(
  db: Db,
  record: Pick<ExecutionRecord, 'executionId' | 'deadlineAt'>,
  timeoutMs: number,
): Promise<ExecutionRecord | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE executions SET started_at = ${STAMP}, deadline_at = ${DEADLINE('$3')}
     WHERE execution_id = $1 AND status = 'running' AND ${DEADLINE_AS_READ('$2')} AND deadline_at < now() RETURNING *`,
    [record.executionId, record.deadlineAt.toISOString(), timeoutMs],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Running executions whose deadline has passed by the database's clock: their executor died
 * mid-action. The deadline already holds the grace (`EXECUTOR_UNKNOWN_AFTER_MS`) past the step's
 * timeout. `ageMs` is how long ago the claim started, by the same clock.
 */
export async function overdueExecutions(db: Db): Promise<Array<ExecutionRecord & { ageMs: number }>> {
  const { rows } = await db.query<Row & { age_ms: number | string }>(
    `SELECT *, (extract(epoch FROM now() - started_at) * 1000)::float8 AS age_ms
       FROM executions WHERE status = 'running' AND deadline_at < now() ORDER BY deadline_at LIMIT 100`,
  );
  return rows.map((row) => ({ ...fromRow(row), ageMs: Math.max(0, Number(row.age_ms)) }));
}
