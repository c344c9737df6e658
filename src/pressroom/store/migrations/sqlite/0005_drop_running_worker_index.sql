-- Every claim wrote an entry into this index and nothing hot read it: the only reader is the
-- rescue of a dead worker's jobs, which now walks jobs_running (running jobs only).
DROP INDEX IF EXISTS jobs_running_worker;
