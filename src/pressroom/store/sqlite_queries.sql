-- Named queries of the SQLite driver. Times are epoch seconds; JSON is text.

-- name: job_insert
INSERT INTO jobs (id, tenant, task, args, queue, priority, status, max_attempts, timeout_s,
                  run_at, created_at, metadata, unique_key, cache_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: event_insert
INSERT INTO job_events (job_id, at, kind, data) VALUES (?, ?, ?, ?)

-- name: job_get
SELECT {job_columns} FROM jobs WHERE id = ?

-- name: job_by_unique_key
SELECT {job_columns} FROM jobs
WHERE tenant = ? AND unique_key = ? AND status NOT IN ('failed', 'cancelled')

-- name: claim_candidates
SELECT id, priority, run_at FROM jobs
WHERE status = 'queued' AND queue = ?
ORDER BY priority DESC, run_at, id
LIMIT ?

-- name: claim_ids
UPDATE jobs
SET status = 'running', attempt = attempt + 1, worker_id = ?, started_at = ?,
    lease_expires_at = ?, progress_percent = 0, progress_message = NULL
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'queued'
RETURNING {job_columns}

-- name: claim_events
INSERT INTO job_events (job_id, at, kind, data)
SELECT id, ?, 'status', json_object('status', 'running', 'attempt', attempt, 'worker_id', worker_id)
FROM jobs WHERE id IN (SELECT value FROM json_each(?))

-- name: status_events
-- One status event per [id, attempt, status] element, for outcomes without extra fields.
INSERT INTO job_events (job_id, at, kind, data)
SELECT json_extract(value, '$[0]'), ?, 'status',
       json_object('status', json_extract(value, '$[2]'), 'attempt', json_extract(value, '$[1]'))
FROM json_each(?)

-- name: queue_limits_for
SELECT name, concurrency, rate_count, rate_period_s, tokens, refilled_at FROM queues
WHERE name IN (SELECT value FROM json_each(?))

-- name: queue_running_count
SELECT count(*) FROM jobs WHERE status = 'running' AND queue = ?

-- name: queue_tokens_update
UPDATE queues SET tokens = ?, refilled_at = ? WHERE name = ?

-- name: job_heartbeat
UPDATE jobs SET lease_expires_at = ?
WHERE id = ? AND attempt = ? AND worker_id = ? AND status = 'running'
RETURNING cancel_requested

-- name: job_finish
UPDATE jobs
SET status = ?, finished_at = ?, result = ?, error = ?, run_at = coalesce(?, run_at),
    worker_id = NULL, lease_expires_at = NULL,
    max_attempts = max_attempts + ?,
    progress_percent = CASE WHEN ? THEN 100 ELSE progress_percent END
WHERE id = ? AND attempt = ? AND status = 'running'

-- name: job_finish_many
-- Each element of the JSON array (?1): [id, attempt, status, finished_at, result_json,
-- error_json, run_at, extra_attempts]. ?2: the writing worker's id (NULL: any worker).
UPDATE jobs
SET status = json_extract(o.value, '$[2]'),
    finished_at = json_extract(o.value, '$[3]'),
    result = json_extract(o.value, '$[4]'),
    error = json_extract(o.value, '$[5]'),
    run_at = coalesce(json_extract(o.value, '$[6]'), jobs.run_at),
    max_attempts = jobs.max_attempts + json_extract(o.value, '$[7]'),
    worker_id = NULL, lease_expires_at = NULL,
    progress_percent = CASE WHEN json_extract(o.value, '$[2]') = 'succeeded' THEN 100
                            ELSE jobs.progress_percent END
FROM json_each(?1) AS o
WHERE jobs.id = json_extract(o.value, '$[0]')
  AND jobs.attempt = json_extract(o.value, '$[1]')
  AND jobs.status = 'running'
  AND (?2 IS NULL OR jobs.worker_id = ?2)
RETURNING jobs.id

-- name: job_progress
UPDATE jobs SET progress_percent = ?1, progress_message = ?2
WHERE id = ?3 AND attempt = ?4 AND status = 'running' AND (?5 IS NULL OR worker_id = ?5)

-- name: job_set_cancelled
UPDATE jobs SET status = 'cancelled', finished_at = ?, error = ?
WHERE id = ?

-- name: job_set_cancel_requested
UPDATE jobs SET cancel_requested = 1 WHERE id = ?

-- name: job_requeue
UPDATE jobs
SET status = 'queued', run_at = ?, max_attempts = ?, finished_at = NULL, error = NULL,
    result = NULL, cancel_requested = 0, progress_percent = 0, progress_message = NULL
WHERE id = ?

-- name: job_delete_events
DELETE FROM job_events WHERE job_id = ?

-- name: job_delete
DELETE FROM jobs WHERE id = ?

-- name: expired_leases
SELECT id, attempt, max_attempts, cancel_requested FROM jobs
WHERE status = 'running' AND lease_expires_at < ?

-- name: held_by_worker
-- Walks jobs_running (running jobs of every worker; a few per child).
SELECT id, attempt, max_attempts, cancel_requested FROM jobs
WHERE status = 'running' AND worker_id = ?

-- name: job_rescue_one
UPDATE jobs
SET status = ?, run_at = ?, finished_at = ?, error = ?, worker_id = NULL,
    lease_expires_at = NULL
WHERE id = ? AND attempt = ? AND status = 'running'

-- name: job_promote
UPDATE jobs SET status = 'queued'
WHERE status = 'scheduled' AND run_at <= ?
RETURNING id, attempt

-- name: purge_select
SELECT id FROM jobs
WHERE finished_at < ? AND status IN ('succeeded', 'failed', 'cancelled')
LIMIT 1000

-- name: purge_events
DELETE FROM job_events WHERE job_id IN (SELECT value FROM json_each(?))

-- name: purge_jobs
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))

-- name: job_list
SELECT {job_columns} FROM jobs
WHERE (?1 IS NULL OR tenant = ?1)
  AND (?2 IS NULL OR status = ?2)
  AND (?3 IS NULL OR queue = ?3)
  AND (?4 IS NULL OR task = ?4)
  AND (?5 IS NULL OR id < ?5)
ORDER BY id DESC
LIMIT ?6

-- name: job_events
SELECT seq, job_id, at, kind, data FROM job_events
WHERE job_id = ? AND seq > ?
ORDER BY seq
LIMIT ?

-- name: job_events_for
SELECT seq, job_id, at, kind, data FROM job_events
WHERE job_id IN (SELECT value FROM json_each(?)) AND seq > ?
ORDER BY seq
LIMIT ?

-- name: job_events_last_seq
SELECT coalesce(max(seq), 0) FROM job_events

-- name: job_stats
SELECT queue, status, count(*) FROM jobs
WHERE (?1 IS NULL OR tenant = ?1)
GROUP BY queue, status

-- name: job_cancel_requested
SELECT id FROM jobs
WHERE id IN (SELECT value FROM json_each(?)) AND cancel_requested = 1 AND status = 'running'

-- name: worker_upsert
INSERT INTO workers (id, host, pid, queues, concurrency, started_at, last_heartbeat_at, running)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE
SET last_heartbeat_at = excluded.last_heartbeat_at, running = excluded.running

-- name: worker_delete
DELETE FROM workers WHERE id = ?

-- name: worker_list
SELECT id, host, pid, queues, concurrency, started_at, last_heartbeat_at, running FROM workers
ORDER BY started_at DESC

-- name: worker_prune
DELETE FROM workers WHERE last_heartbeat_at < ? RETURNING id

-- name: leader_elect
INSERT INTO leaders (name, node_id, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE
SET node_id = excluded.node_id, expires_at = excluded.expires_at
WHERE leaders.node_id = excluded.node_id OR leaders.expires_at < ?4

-- name: leader_get
SELECT node_id FROM leaders WHERE name = ?

-- name: cron_tick_insert
INSERT INTO cron_ticks (name, tick) VALUES (?, ?) ON CONFLICT DO NOTHING

-- name: cron_tick_job
UPDATE cron_ticks SET job_id = ? WHERE name = ? AND tick = ?

-- name: cron_ticks_prune
DELETE FROM cron_ticks WHERE tick < ?

-- name: queue_limits_set
INSERT INTO queues (name, concurrency, rate_count, rate_period_s, tokens, refilled_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE
SET concurrency = excluded.concurrency, rate_count = excluded.rate_count,
    rate_period_s = excluded.rate_period_s, tokens = excluded.tokens,
    refilled_at = excluded.refilled_at

-- name: queue_limits_delete
DELETE FROM queues WHERE name = ?

-- name: queue_limits_list
SELECT name, concurrency, rate_count, rate_period_s FROM queues ORDER BY name

-- Documents: the render result cache and versioned templates.

-- name: job_insert_cached
-- A job created succeeded from the result cache: started and finished now, progress 100.
INSERT INTO jobs (id, tenant, task, args, queue, priority, status, max_attempts, timeout_s,
                  run_at, created_at, started_at, finished_at, progress_percent, metadata,
                  unique_key, cache_key, result)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'succeeded', ?7, ?8, ?9, ?9, ?9, ?9, 100, ?10, ?11, ?12, ?13)

-- name: job_get_cached
SELECT {job_columns} FROM jobs
WHERE tenant = ? AND cache_key = ? AND status = 'succeeded' AND finished_at > ?
ORDER BY finished_at DESC
LIMIT 1

-- name: purge_select_batch
SELECT id, tenant FROM jobs
WHERE finished_at < ? AND status IN ('succeeded', 'failed', 'cancelled')
ORDER BY finished_at
LIMIT ?

-- name: template_latest
SELECT {template_columns} FROM templates
WHERE tenant = ? AND name = ?
ORDER BY version DESC
LIMIT 1

-- name: template_get
SELECT {template_columns}, bundle FROM templates
WHERE tenant = ?1 AND name = ?2 AND (?3 IS NULL OR version = ?3)
ORDER BY version DESC
LIMIT 1

-- name: template_get_info
SELECT {template_columns} FROM templates
WHERE tenant = ?1 AND name = ?2 AND (?3 IS NULL OR version = ?3)
ORDER BY version DESC
LIMIT 1

-- name: template_insert
INSERT INTO templates (tenant, name, version, engine, main, sha256, size, created_at, bundle)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: template_list
SELECT {template_columns} FROM templates AS t
WHERE tenant = ?
  AND version = (SELECT max(version) FROM templates WHERE tenant = t.tenant AND name = t.name)
ORDER BY name
