-- Learning from outcomes (the stability window). One row per resolved incident, keyed by its id:
-- a remediated incident with a plan is a `candidate` until window_ends_at, then `proven`; a
-- re-fire inside the window makes it `ineffective`. External and manual resolutions are kept
-- as `history` and never become a proven fix. The window's end is the durable timer: the
-- promotion ticker (any copy, any time after a restart) settles every row that is due.
CREATE TABLE learned_incidents (
  incident_id text PRIMARY KEY,
  event_id text NOT NULL,
  service text NOT NULL,
  dedup_key text NOT NULL,
  alert_name text,
  title text NOT NULL,
  how text NOT NULL CHECK (how IN ('remediated', 'external', 'manual')),
  standing text NOT NULL CHECK (standing IN ('candidate', 'proven', 'ineffective', 'history')),
  resolved_at timestamptz NOT NULL,
  window_ends_at timestamptz,
  refired_at timestamptz,
  refired_by text,
  settled_at timestamptz,
  provenance jsonb NOT NULL,
  document tsvector NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((standing = 'history') = (window_ends_at IS NULL))
);
CREATE INDEX learned_incidents_due ON learned_incidents (window_ends_at) WHERE standing = 'candidate';
CREATE INDEX learned_incidents_dedup ON learned_incidents (dedup_key, resolved_at);
CREATE INDEX learned_incidents_alert ON learned_incidents (service, alert_name, resolved_at);
CREATE INDEX learned_incidents_document ON learned_incidents USING gin (document);

-- Every alert firing memory has seen, kept for one stability window: a resolution that arrives
-- after its own re-fire (concurrent handlers, a redelivery) still finds the re-fire.
CREATE TABLE alert_fires (
  event_id text PRIMARY KEY,
  service text NOT NULL,
  dedup_key text NOT NULL,
  alert_name text,
  fired_at timestamptz NOT NULL
);
CREATE INDEX alert_fires_dedup ON alert_fires (dedup_key, fired_at);
CREATE INDEX alert_fires_alert ON alert_fires (service, alert_name, fired_at);
