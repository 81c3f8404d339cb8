-- The same alert reported through a second channel (Alertmanager's webhook and its PagerDuty
-- receiver, say) attaches to the open incident; its dedup key then leads to that incident too.
CREATE TABLE incident_keys (
  dedup_key text NOT NULL,
  incident_id text NOT NULL REFERENCES incidents (id),
  PRIMARY KEY (dedup_key, incident_id)
);

-- Open incidents by service, alert name and source: where a trigger from another source looks.
CREATE INDEX incidents_open_by_alert ON incidents (service, (state ->> 'alertName'), (state ->> 'source')) WHERE closed_at IS NULL;
