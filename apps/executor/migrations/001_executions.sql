-- One row per execution id (incident, plan step, mode): the record that makes a step run once.
-- `running` with no result after the action's deadline means the executor died mid-action: the
-- outcome is unknown, reported as such and escalated — never retried blindly.
CREATE TABLE executions (
  execution_id text PRIMARY KEY,
  incident_id text NOT NULL,
  step_id text NOT NULL,
  mode text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'refused', 'unknown')),
  started_at timestamptz NOT NULL,
  deadline_at timestamptz NOT NULL,
  finished_at timestamptz,
  request_event_id text NOT NULL,
  correlation_id text NOT NULL,
  result jsonb
);
CREATE INDEX executions_incident ON executions (incident_id);
