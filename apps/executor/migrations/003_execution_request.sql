-- The command as it was claimed. After a crash mid-run, the sweeper reads it to ask the target
-- whether the step's effect is in place (an action that can tell, e.g. "is that session gone?")
-- before it falls back to reporting the outcome unknown. Nothing is run again from it.
ALTER TABLE executions ADD COLUMN request jsonb;
