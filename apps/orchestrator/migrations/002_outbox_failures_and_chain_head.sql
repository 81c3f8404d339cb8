-- An outbox row that can never be published (too large, invalid) is set aside with its error
-- instead of blocking every command behind it.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
ALTER TABLE outbox ADD COLUMN error text;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL AND failed_at IS NULL;

-- The head of each incident's timeline: a truncated copy no longer verifies.
ALTER TABLE incidents ADD COLUMN timeline_head_seq integer NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN timeline_head_hash text;
