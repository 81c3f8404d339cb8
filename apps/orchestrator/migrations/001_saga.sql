-- The saga's state: one row per incident, its append-only timeline, the outbox of events to
-- publish, and one active deadline per incident.

CREATE TABLE incidents (
  id text PRIMARY KEY,
  version integer NOT NULL,
  stage text NOT NULL,
  service text NOT NULL,
  dedup_key text NOT NULL,
  external_incident_id text,
  triggered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  closed_at timestamptz,
  state jsonb NOT NULL
);
-- At most one open incident per dedup key: two triggers racing cannot open two sagas.
CREATE UNIQUE INDEX incidents_one_open_per_dedup_key ON incidents (dedup_key) WHERE closed_at IS NULL;
CREATE INDEX incidents_by_dedup_key_closed ON incidents (dedup_key, closed_at DESC);
CREATE INDEX incidents_by_stage ON incidents (stage, updated_at DESC);
CREATE INDEX incidents_by_service ON incidents (service, updated_at DESC);
CREATE INDEX incidents_by_external_id ON incidents (external_incident_id) WHERE external_incident_id IS NOT NULL;

CREATE TABLE timeline (
  incident_id text NOT NULL REFERENCES incidents (id),
  seq integer NOT NULL,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  summary text NOT NULL,
  event_id text,
  event_type text,
  data jsonb NOT NULL,
  -- Each entry carries the hash of the one before: editing history breaks the chain.
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (incident_id, seq)
);

CREATE FUNCTION timeline_is_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the incident timeline is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON timeline
  FOR EACH ROW EXECUTE FUNCTION timeline_is_append_only();

CREATE TABLE outbox (
  seq bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  incident_id text NOT NULL,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

CREATE TABLE timers (
  incident_id text PRIMARY KEY REFERENCES incidents (id),
  stage text NOT NULL,
  due_at timestamptz NOT NULL
);
CREATE INDEX timers_by_due_at ON timers (due_at);
