-- One row per approval request: (incident, plan hash) is the request, so an approval binds to
-- exactly the plan shown. `state` leaves 'pending' exactly once, under the row's lock, and the
-- one approval.decided goes out in that transaction. `expires_at` is the durable timer.
-- `version` counts every change a person should see; `slack_version` is what the Slack message
-- shows, so a message left behind by a crash or a Slack outage is brought up to date later.
CREATE TABLE approval_requests (
  incident_id text NOT NULL,
  plan_hash text NOT NULL,
  service text NOT NULL,
  risk text NOT NULL,
  request jsonb NOT NULL,
  request_event_id text NOT NULL,
  correlation_id text NOT NULL,
  requested_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'superseded')),
  version integer NOT NULL DEFAULT 1,
  decision jsonb,
  decision_event_id text,
  decided_at timestamptz,
  slack_channel text,
  slack_ts text,
  slack_version integer NOT NULL DEFAULT 0,
  slack_attempts integer NOT NULL DEFAULT 0,
  slack_next_at timestamptz,
  slack_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, plan_hash)
);
CREATE INDEX approval_requests_pending ON approval_requests (expires_at) WHERE state = 'pending';
CREATE INDEX approval_requests_slack_behind ON approval_requests (slack_next_at) WHERE slack_channel IS NOT NULL AND slack_version < version;

-- Each person's say on a request, once: a double click is the same row.
CREATE TABLE approval_votes (
  incident_id text NOT NULL,
  plan_hash text NOT NULL,
  person_id text NOT NULL,
  person jsonb NOT NULL,
  vote text NOT NULL CHECK (vote IN ('approve', 'deny')),
  via text NOT NULL CHECK (via IN ('slack', 'web', 'cli')),
  reason text,
  voted_at timestamptz NOT NULL,
  PRIMARY KEY (incident_id, plan_hash, person_id),
  FOREIGN KEY (incident_id, plan_hash) REFERENCES approval_requests (incident_id, plan_hash)
);

-- Signatures of Slack requests already taken, for as long as Slack's timestamp window lets a
-- copy of one pass the signature check: a replayed request is refused in every copy of the service.
CREATE TABLE slack_requests_seen (
  signature text PRIMARY KEY,
  request_ts bigint NOT NULL
);
CREATE INDEX slack_requests_seen_ts ON slack_requests_seen (request_ts);
