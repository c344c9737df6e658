-- A new job's first event (queued or scheduled) is written by the database in the same
-- statement as the job, so a submit is one statement. Cached jobs (inserted succeeded) write
-- their own events.
CREATE TRIGGER jobs_created_event AFTER INSERT ON jobs
WHEN NEW.status IN ('queued', 'scheduled')
BEGIN
    INSERT INTO job_events (job_id, at, kind, data)
    VALUES (NEW.id, NEW.created_at, 'status', json_object('status', NEW.status, 'attempt', 0));
END;
