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
 * Claims an execution id before anything runs. Only the first claim wins; every later delivery
 * of the same id gets the existing record back instead, and never runs the step.
 */
export async function claimExecution(
  db: Db,
  claim: {
    executionId: string;
    incidentId: string;
    stepId: string;
    mode: string;
    startedAt: Date;
    deadlineAt: Date;
    requestEventId: string;
    correlationId: string;
    request?: ExecutionRequested;
  },
): Promise<{ claimed: true } | { claimed: false; existing: ExecutionRecord }> {
  const inserted = await db.query(
    `INSERT INTO executions (execution_id, incident_id, step_id, mode, status, started_at, deadline_at, request_event_id, correlation_id, request)
     VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9) ON CONFLICT (execution_id) DO NOTHING`,
    [
      claim.executionId,
      claim.incidentId,
      claim.stepId,
      claim.mode,
      claim.startedAt.toISOString(),
      claim.deadlineAt.toISOString(),
      claim.requestEventId,
      claim.correlationId,
      claim.request ? JSON.stringify(claim.request) : null,
    ],
  );
  if (inserted.rowCount > 0) return { claimed: true };
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
     WHERE execution_id = $1 AND status = 'running' AND ($4::timestamptz IS NULL OR deadline_at = $4) RETURNING *`,
    [result.executionId, result.status, JSON.stringify(result), asRead ? asRead.deadlineAt.toISOString() : null],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Takes over a running claim whose deadline passed, with a new start and deadline. Only one copy
 * wins (the deadline it read must still stand), so only one runs the step.
 */
export async function takeOverExecution(db: Db, record: ExecutionRecord, startedAt: Date, deadlineAt: Date): Promise<boolean> {
  const updated = await db.query(
    `UPDATE executions SET started_at = $3, deadline_at = $4 WHERE execution_id = $1 AND status = 'running' AND deadline_at = $2`,
    [record.executionId, record.deadlineAt.toISOString(), startedAt.toISOString(), deadlineAt.toISOString()],
  );
  return updated.rowCount > 0;
}

/** Running executions whose deadline has passed: their executor died mid-action. */
export async function overdueExecutions(db: Db, now: Date): Promise<ExecutionRecord[]> {
  const { rows } = await db.query<Row>(
    "SELECT * FROM executions WHERE status = 'running' AND deadline_at < $1 ORDER BY deadline_at LIMIT 100",
    [now.toISOString()],
  );
  return rows.map(fromRow);
}
