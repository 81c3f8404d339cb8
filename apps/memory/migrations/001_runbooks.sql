-- Runbooks and their sections, searchable with Postgres full-text search (weights: title A,
-- alerts/symptoms/tags/services and headings B, body C).
CREATE TABLE runbooks (
  id text PRIMARY KEY,
  content_hash text NOT NULL,
  title text NOT NULL,
  services text[] NOT NULL,
  alerts text[] NOT NULL,
  front jsonb NOT NULL,
  source text NOT NULL,
  document tsvector NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runbooks_document ON runbooks USING gin (document);

CREATE TABLE runbook_sections (
  runbook_id text NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
  position integer NOT NULL,
  heading text NOT NULL,
  line_start integer NOT NULL,
  line_end integer NOT NULL,
  body text NOT NULL,
  document tsvector NOT NULL,
  PRIMARY KEY (runbook_id, position)
);
CREATE INDEX runbook_sections_document ON runbook_sections USING gin (document);
