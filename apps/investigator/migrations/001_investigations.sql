-- One row per incident under investigation: the probes' report taken at once, and how long to
-- wait for a Cleric note. `status` moves waiting → answered exactly once (a conditional UPDATE),
-- however many copies of the investigator race; `due_at` is the durable timer.
CREATE TABLE investigations (
  incident_id text PRIMARY KEY,
  external_incident_id text,
  service text NOT NULL,
  request_event_id text NOT NULL,
  correlation_id text NOT NULL,
  reports jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('waiting', 'answered')),
  due_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz,
  hypothesis jsonb
);
CREATE INDEX investigations_waiting_due ON investigations (due_at) WHERE status = 'waiting';
CREATE INDEX investigations_external ON investigations (external_incident_id);

-- Cleric's notes, parsed, by the paging system's incident id. A note may arrive before the
-- investigation it belongs to (the webhook races the saga), so notes are kept on their own.
CREATE TABLE cleric_notes (
  external_incident_id text NOT NULL,
  note_key text NOT NULL,
  finding jsonb NOT NULL,
  noted_at timestamptz NOT NULL,
  PRIMARY KEY (external_incident_id, note_key)
);
