-- What the approver decided, as the executor heard it: an incident whose plan needed a human runs
-- only the plan whose hash was approved (a plan changed after approval is refused).
CREATE TABLE approvals (
  incident_id text NOT NULL,
  plan_hash text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('requested', 'approved', 'denied', 'expired')),
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (incident_id, plan_hash)
);
