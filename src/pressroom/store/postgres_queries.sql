-- Named queries of the PostgreSQL driver (psycopg placeholders: %(name)s, or %(name)b to send
-- a value in binary).
-- Times are timestamptz; JSON is jsonb, sent as text and cast. Every time-dependent query takes
-- %(now)s and falls back to the database clock with coalesce(%(now)s::timestamptz, now()).
-- Inserting or re-queueing jobs notifies channel 'pressroom_jobs' with the queue name as payload
-- (once per queue per statement).

-- name: migrations_lock
SELECT pg_advisory_xact_lock(7085774261723905345)

-- name: migrations_table
CREATE TABLE IF NOT EXISTS pressroom_schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)

-- name: migrations_applied
SELECT version FROM pressroom_schema_migrations ORDER BY version

-- name: migrations_add
INSERT INTO pressroom_schema_migrations (version) VALUES (%(version)s)

-- name: migrations_table_exists
SELECT to_regclass('pressroom_schema_migrations') IS NOT NULL

-- name: migrations_current
SELECT coalesce(max(version), 0) FROM pressroom_schema_migrations

-- name: listen
LISTEN pressroom_jobs

-- name: job_insert
-- Returns only the creation time: the caller knows the rest of the job it sent.
WITH t AS (SELECT coalesce(%(now)s::timestamptz, now()) AS now),
ins AS (
    INSERT INTO pressroom_jobs (id, tenant, task, args, queue, priority, status, max_attempts,
                                timeout_s, run_at, created_at, metadata, unique_key, cache_key)
    SELECT %(id)s, %(tenant)s, %(task)s, %(args)s::jsonb, %(queue)s, %(priority)s,
           CASE WHEN %(run_at)s::timestamptz > t.now THEN 'scheduled' ELSE 'queued' END,
           %(max_attempts)s, %(timeout_s)s::float8, coalesce(%(run_at)s::timestamptz, t.now),
           t.now, %(metadata)s::jsonb, %(unique_key)s, %(cache_key)s
    FROM t
    ON CONFLICT DO NOTHING
    RETURNING id, status, queue, created_at
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, created_at, 'status', jsonb_build_object('status', status, 'attempt', 0) FROM ins
), sig AS (
    SELECT pg_notify('pressroom_jobs', queue) FROM ins WHERE status = 'queued'
)
SELECT created_at, (SELECT count(*) FROM sig) AS notified FROM ins

-- name: tx_now
SELECT coalesce(%(now)s::timestamptz, now())

-- name: job_copy
-- Bulk inserts stream binary rows; job_copied_events follows in the same transaction.
COPY pressroom_jobs (id, tenant, task, args, queue, priority, status, max_attempts, timeout_s,
                     run_at, created_at, metadata, cache_key)
FROM STDIN (FORMAT BINARY)

-- name: job_copied_events
-- The jobs this transaction copied in (ids between first and last, and written by this
-- transaction): their creation events, and one notification per queue with queued jobs.
WITH ins AS (
    SELECT id, status, queue FROM pressroom_jobs
    WHERE id BETWEEN %(first)s AND %(last)s AND xmin = pg_current_xact_id()::xid
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, %(at)s, 'status', jsonb_build_object('status', status, 'attempt', 0)
    FROM ins ORDER BY id
), sig AS (
    SELECT pg_notify('pressroom_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM ins WHERE status = 'queued') AS q
)
SELECT (SELECT count(*) FROM sig)

-- name: job_get
SELECT {job_columns} FROM pressroom_jobs WHERE id = %(id)s

-- name: job_get_for_update
SELECT {job_columns} FROM pressroom_jobs WHERE id = %(id)s FOR UPDATE

-- name: job_by_unique_key
SELECT {job_columns} FROM pressroom_jobs
WHERE tenant = %(tenant)s AND unique_key = %(unique_key)s
  AND status NOT IN ('failed', 'cancelled')

-- name: job_claim_one
-- One queue: the index pressroom_jobs_claim yields the best rows in order, no sort. When gated,
-- a queue that has limits yields nothing here (such queues are claimed under their row lock).
-- "async": the claim's own commit does not wait for its WAL flush (PostgresStore.job_claim).
WITH cand AS (
    SELECT id AS cid FROM pressroom_jobs
    WHERE status = 'queued' AND queue = %(queue)s
      AND (NOT %(gated)s::boolean
           OR NOT EXISTS (SELECT FROM pressroom_queues WHERE name = %(queue)s))
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE pressroom_jobs
    SET status = 'running', attempt = attempt + 1, worker_id = %(worker_id)s,
        started_at = coalesce(%(now)s::timestamptz, now()),
        lease_expires_at = coalesce(%(now)s::timestamptz, now())
                           + %(lease_s)s::float8 * interval '1 second',
        progress_percent = 0, progress_message = NULL
    WHERE id = ANY(ARRAY(SELECT cid FROM cand))
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, started_at, 'status',
           jsonb_build_object('status', status, 'attempt', attempt, 'worker_id', worker_id)
    FROM upd
), async AS (SELECT set_config('synchronous_commit', 'off', true))
SELECT {job_columns} FROM upd, async

-- name: job_claim_many
-- Several queues: the best "want" rows of each queue (an index range each, whatever the
-- queue's depth), then the best "limit" of those. Gated as job_claim_one.
WITH cand AS (
    SELECT c.id AS cid
    FROM unnest(%(queues)s::text[], %(wants)s::int[]) AS q(name, want)
    CROSS JOIN LATERAL (
        SELECT id, priority, run_at FROM pressroom_jobs
        WHERE status = 'queued' AND queue = q.name
        ORDER BY priority DESC, run_at, id
        LIMIT q.want
        FOR UPDATE SKIP LOCKED
    ) AS c
    WHERE NOT %(gated)s::boolean
       OR NOT EXISTS (SELECT FROM pressroom_queues WHERE name = ANY(%(queues)s::text[]))
    ORDER BY c.priority DESC, c.run_at, c.id
    LIMIT %(limit)s
), upd AS (
    UPDATE pressroom_jobs
    SET status = 'running', attempt = attempt + 1, worker_id = %(worker_id)s,
        started_at = coalesce(%(now)s::timestamptz, now()),
        lease_expires_at = coalesce(%(now)s::timestamptz, now())
                           + %(lease_s)s::float8 * interval '1 second',
        progress_percent = 0, progress_message = NULL
    WHERE id = ANY(ARRAY(SELECT cid FROM cand))
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, started_at, 'status',
           jsonb_build_object('status', status, 'attempt', attempt, 'worker_id', worker_id)
    FROM upd
), async AS (SELECT set_config('synchronous_commit', 'off', true))  -- see job_claim_one
SELECT {job_columns} FROM upd, async

-- name: queue_has_limits
SELECT EXISTS (SELECT FROM pressroom_queues WHERE name = ANY(%(queues)s::text[]))

-- name: queue_limits_lock
-- Serialises claims on limited queues across nodes until the claim's transaction ends.
SELECT name, concurrency, rate_count, rate_period_s, tokens, refilled_at,
       coalesce(%(now)s::timestamptz, now())
FROM pressroom_queues WHERE name = ANY(%(queues)s::text[])
ORDER BY name
FOR UPDATE

-- name: queue_running_counts
-- A statement of its own, after the lock, so its snapshot sees every claim committed before.
SELECT queue, count(*) FROM pressroom_jobs
WHERE status = 'running' AND queue = ANY(%(queues)s::text[])
GROUP BY queue

-- name: queue_tokens_update
UPDATE pressroom_queues AS q SET tokens = u.tokens, refilled_at = %(now)s
FROM unnest(%(names)s::text[], %(tokens)s::float8[]) AS u(name, tokens)
WHERE q.name = u.name

-- name: job_heartbeat
UPDATE pressroom_jobs AS j
SET lease_expires_at = coalesce(%(now)s::timestamptz, now())
                       + %(lease_s)s::float8 * interval '1 second'
FROM unnest(%(ids)s::text[], %(attempts)s::int[]) AS h(id, attempt)
WHERE j.id = ANY(%(ids)s::text[]) AND j.id = h.id AND j.attempt = h.attempt
  AND j.worker_id || '' = %(worker_id)s AND j.status || '' = 'running'  -- by primary key only
RETURNING j.id, j.cancel_requested

-- name: job_finish
-- Outcomes fenced by (id, attempt, running) and, when a worker id is given, by the worker
-- holding the row; applied at once; events only for applied rows.
-- %(outcomes)s maps "id:attempt" to {s: status, r: result, e: error, t: run_at, g: give_back,
-- v: events}; g is 1 for a job released unrun (its attempt is given back by raising
-- max_attempts); v null means just the status event (most outcomes), built here. Rescues go
-- through here too. Jobs queued again are notified.
-- Rows are found by primary key only and each row's outcome by key in the JSON object (a
-- binary search): no join, so no plan depends on estimates. Joining the outcomes as rows was
-- planned as a nested loop re-reading every outcome for every job (O(n^2): 13 ms of 17 for 128
-- outcomes) or as a hash join over a scan of the whole table. The status test is written so
-- that no partial index on running jobs can serve it: after a long drain such an index is
-- mostly dead entries, and a plan walking it made every write cost O(jobs drained).
WITH t AS (SELECT coalesce(%(now)s::timestamptz, now()) AS now, %(outcomes)s::jsonb AS o),
upd AS (
    UPDATE pressroom_jobs AS j
    SET status = t.o -> (j.id || ':' || j.attempt) ->> 's',
        finished_at = CASE WHEN t.o -> (j.id || ':' || j.attempt) ->> 's'
                                IN ('succeeded', 'failed', 'cancelled') THEN t.now END,
        result = nullif(t.o -> (j.id || ':' || j.attempt) -> 'r', 'null'),
        error = nullif(t.o -> (j.id || ':' || j.attempt) -> 'e', 'null'),
        run_at = coalesce((t.o -> (j.id || ':' || j.attempt) ->> 't')::timestamptz, j.run_at),
        worker_id = NULL, lease_expires_at = NULL,
        max_attempts = j.max_attempts + (t.o -> (j.id || ':' || j.attempt) ->> 'g')::int,
        progress_percent = CASE WHEN t.o -> (j.id || ':' || j.attempt) ->> 's' = 'succeeded'
                                THEN 100 ELSE j.progress_percent END
    FROM t
    WHERE j.id = ANY(%(ids)b::text[]) AND t.o ? (j.id || ':' || j.attempt)
      AND j.status || '' = 'running'
      AND (%(worker_id)s::text IS NULL OR j.worker_id = %(worker_id)s::text)
    RETURNING j.id, j.attempt, j.status, j.queue, t.now,
        coalesce(nullif(t.o -> (j.id || ':' || j.attempt) -> 'v', 'null'), jsonb_build_array(
            jsonb_build_object('kind', 'status', 'data',
                               jsonb_build_object('status', j.status, 'attempt', j.attempt))
        )) AS events
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT upd.id, upd.now, e.item ->> 'kind', e.item -> 'data'
    FROM upd CROSS JOIN LATERAL jsonb_array_elements(upd.events) WITH ORDINALITY AS e(item, n)
    ORDER BY upd.id, e.n
), sig AS (
    SELECT pg_notify('pressroom_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM upd WHERE status = 'queued') AS q
)
SELECT id, attempt, (SELECT count(*) FROM sig) FROM upd

-- name: job_progress
-- Progress of running attempts, fenced as in job_finish (id, attempt, running[, worker]).
-- %(updates)s maps "id:attempt" to {p: percent, m: message}.
WITH t AS (SELECT coalesce(%(now)s::timestamptz, now()) AS now, %(updates)s::jsonb AS u),
upd AS (
    UPDATE pressroom_jobs AS j
    SET progress_percent = (t.u -> (j.id || ':' || j.attempt) ->> 'p')::float8,
        progress_message = t.u -> (j.id || ':' || j.attempt) ->> 'm'
    FROM t
    WHERE j.id = ANY(%(ids)b::text[]) AND t.u ? (j.id || ':' || j.attempt)
      AND j.status || '' = 'running'
      AND (%(worker_id)s::text IS NULL OR j.worker_id = %(worker_id)s::text)
    RETURNING j.id, j.attempt, t.now, t.u -> (j.id || ':' || j.attempt) AS x
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, now, 'progress',
           jsonb_build_object('attempt', attempt, 'percent', x -> 'p', 'message', x -> 'm')
    FROM upd ORDER BY id
)
SELECT count(*) FROM upd

-- name: job_request_cancel
WITH upd AS (
    UPDATE pressroom_jobs SET cancel_requested = true WHERE id = %(id)s
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, coalesce(%(now)s::timestamptz, now()), 'cancel_requested',
           jsonb_build_object('attempt', attempt)
    FROM upd
)
SELECT {job_columns} FROM upd

-- name: job_set_cancelled
WITH upd AS (
    UPDATE pressroom_jobs
    SET status = 'cancelled', finished_at = coalesce(%(now)s::timestamptz, now()),
        error = %(error)s::jsonb
    WHERE id = %(id)s
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, finished_at, 'status', jsonb_build_object('status', status, 'attempt', attempt)
    FROM upd
)
SELECT {job_columns} FROM upd

-- name: job_requeue
WITH upd AS (
    UPDATE pressroom_jobs
    SET status = 'queued', run_at = coalesce(%(now)s::timestamptz, now()),
        max_attempts = attempt + 1, finished_at = NULL, error = NULL, result = NULL,
        cancel_requested = false, progress_percent = 0, progress_message = NULL
    WHERE id = %(id)s
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, run_at, 'status',
           jsonb_build_object('status', status, 'attempt', attempt, 'retry', true)
    FROM upd
), sig AS (
    SELECT pg_notify('pressroom_jobs', queue) FROM upd
)
SELECT {job_columns}, (SELECT count(*) FROM sig) FROM upd

-- name: job_delete
WITH job AS (
    DELETE FROM pressroom_jobs
    WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s::text)
      AND status IN ('succeeded', 'failed', 'cancelled')
    RETURNING id
), ev AS (
    DELETE FROM pressroom_job_events WHERE job_id IN (SELECT id FROM job)
)
SELECT count(*) FROM job

-- name: expired_leases
SELECT id, attempt, max_attempts, cancel_requested, coalesce(%(now)s::timestamptz, now())
FROM pressroom_jobs
WHERE status = 'running' AND lease_expires_at < coalesce(%(now)s::timestamptz, now())
ORDER BY id
FOR UPDATE SKIP LOCKED

-- name: held_by_worker
-- Walks pressroom_jobs_running (running jobs of every worker; a few per child).
SELECT id, attempt, max_attempts, cancel_requested, coalesce(%(now)s::timestamptz, now())
FROM pressroom_jobs
WHERE status = 'running' AND worker_id = %(worker_id)s
ORDER BY id
FOR UPDATE

-- name: job_promote
WITH up AS (
    UPDATE pressroom_jobs SET status = 'queued'
    WHERE status = 'scheduled' AND run_at <= coalesce(%(now)s::timestamptz, now())
    RETURNING id, attempt, queue
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, coalesce(%(now)s::timestamptz, now()), 'status',
           jsonb_build_object('status', 'queued', 'attempt', attempt)
    FROM up
), sig AS (
    SELECT pg_notify('pressroom_jobs', q.queue) FROM (SELECT DISTINCT queue FROM up) AS q
)
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM sig)

-- name: job_purge
-- At most a thousand jobs per call, so each transaction stays short.
WITH victim AS (
    SELECT id FROM pressroom_jobs
    WHERE finished_at < %(before)s AND status IN ('succeeded', 'failed', 'cancelled')
    LIMIT 1000
    FOR UPDATE SKIP LOCKED
), job AS (
    DELETE FROM pressroom_jobs WHERE id IN (SELECT id FROM victim) RETURNING id
), ev AS (
    DELETE FROM pressroom_job_events WHERE job_id IN (SELECT id FROM job)
)
SELECT count(*) FROM job

-- name: job_list
SELECT {job_columns} FROM pressroom_jobs
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s::text)
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(task)s::text IS NULL OR task = %(task)s::text)
  AND (%(before)s::text IS NULL OR id < %(before)s::text)
ORDER BY id DESC
LIMIT %(limit)s

-- name: job_events
SELECT seq, job_id, at, kind, data FROM pressroom_job_events
WHERE job_id = %(id)s AND seq > %(after_seq)s
ORDER BY seq
LIMIT %(limit)s

-- name: job_events_for
SELECT seq, job_id, at, kind, data FROM pressroom_job_events
WHERE job_id = ANY(%(ids)s::text[]) AND seq > %(after_seq)s
ORDER BY seq
LIMIT %(limit)s

-- name: job_events_last_seq
SELECT coalesce(max(seq), 0) FROM pressroom_job_events

-- name: job_stats
SELECT queue, status, count(*) FROM pressroom_jobs
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s::text)
GROUP BY queue, status

-- name: job_cancel_requested
SELECT id FROM pressroom_jobs
WHERE id = ANY(%(ids)s::text[]) AND cancel_requested AND status || '' = 'running'  -- by pkey

-- name: worker_upsert
INSERT INTO pressroom_workers (id, host, pid, queues, concurrency, started_at,
                               last_heartbeat_at, running)
VALUES (%(id)s, %(host)s, %(pid)s, %(queues)s::jsonb, %(concurrency)s, %(started_at)s,
        %(last_heartbeat_at)s, %(running)s::jsonb)
ON CONFLICT (id) DO UPDATE
SET last_heartbeat_at = excluded.last_heartbeat_at, running = excluded.running

-- name: worker_delete
DELETE FROM pressroom_workers WHERE id = %(id)s

-- name: worker_list
SELECT id, host, pid, queues, concurrency, started_at, last_heartbeat_at, running
FROM pressroom_workers
ORDER BY started_at DESC

-- name: worker_prune
DELETE FROM pressroom_workers WHERE last_heartbeat_at < %(before)s RETURNING id

-- name: leader_elect
-- Returns a row only when the caller holds the lease afterwards.
INSERT INTO pressroom_leaders AS l (name, node_id, expires_at)
VALUES (%(name)s, %(node_id)s,
        coalesce(%(now)s::timestamptz, now()) + %(ttl_s)s::float8 * interval '1 second')
ON CONFLICT (name) DO UPDATE
SET node_id = excluded.node_id, expires_at = excluded.expires_at
WHERE l.node_id = excluded.node_id OR l.expires_at < coalesce(%(now)s::timestamptz, now())
RETURNING node_id

-- name: cron_tick_insert
INSERT INTO pressroom_cron_ticks (name, tick) VALUES (%(name)s, %(tick)s)
ON CONFLICT DO NOTHING
RETURNING tick

-- name: cron_tick_job
UPDATE pressroom_cron_ticks SET job_id = %(job_id)s WHERE name = %(name)s AND tick = %(tick)s

-- name: cron_ticks_prune
DELETE FROM pressroom_cron_ticks
WHERE tick < coalesce(%(now)s::timestamptz, now()) - interval '7 days'

-- name: queue_limits_set
INSERT INTO pressroom_queues (name, concurrency, rate_count, rate_period_s, tokens, refilled_at)
VALUES (%(name)s, %(concurrency)s, %(rate_count)s, %(rate_period_s)s, NULL, NULL)
ON CONFLICT (name) DO UPDATE
SET concurrency = excluded.concurrency, rate_count = excluded.rate_count,
    rate_period_s = excluded.rate_period_s, tokens = NULL, refilled_at = NULL

-- name: queue_limits_delete
DELETE FROM pressroom_queues WHERE name = %(name)s

-- name: queue_limits_list
SELECT name, concurrency, rate_count, rate_period_s FROM pressroom_queues ORDER BY name

-- Documents: the render result cache and versioned templates.

-- name: job_insert_cached
-- A job created succeeded from the result cache: started and finished now, progress 100.
WITH t AS (SELECT coalesce(%(now)s::timestamptz, now()) AS now),
ins AS (
    INSERT INTO pressroom_jobs (id, tenant, task, args, queue, priority, status, max_attempts,
                                timeout_s, run_at, created_at, started_at, finished_at,
                                progress_percent, metadata, unique_key, cache_key, result)
    SELECT %(id)s, %(tenant)s, %(task)s, %(args)s::jsonb, %(queue)s, %(priority)s, 'succeeded',
           %(max_attempts)s, %(timeout_s)s::float8, t.now, t.now, t.now, t.now, 100,
           %(metadata)s::jsonb, %(unique_key)s, %(cache_key)s, %(result)s::jsonb
    FROM t
    ON CONFLICT DO NOTHING
    RETURNING {job_columns}
), ev AS (
    INSERT INTO pressroom_job_events (job_id, at, kind, data)
    SELECT id, created_at, 'status',
           jsonb_build_object('status', status, 'attempt', 0,
                              'cached_from', result ->> 'cached_from')
    FROM ins
)
SELECT {job_columns} FROM ins

-- name: job_get_cached
SELECT {job_columns} FROM pressroom_jobs
WHERE tenant = %(tenant)s AND cache_key = %(cache_key)s AND status = 'succeeded'
  AND finished_at > %(after)s
ORDER BY finished_at DESC
LIMIT 1

-- name: job_purge_batch
WITH victim AS (
    SELECT id FROM pressroom_jobs
    WHERE finished_at < %(before)s AND status IN ('succeeded', 'failed', 'cancelled')
    ORDER BY finished_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), job AS (
    DELETE FROM pressroom_jobs WHERE id IN (SELECT id FROM victim) RETURNING tenant, id
), ev AS (
    DELETE FROM pressroom_job_events WHERE job_id IN (SELECT id FROM job)
)
SELECT tenant, id FROM job

-- name: template_lock
-- Serialises new versions of one template (the lock ends with the transaction).
SELECT pg_advisory_xact_lock(hashtextextended(%(tenant)s || '/' || %(name)s, 7085774261723905345))

-- name: template_latest
SELECT {template_columns} FROM pressroom_templates
WHERE tenant = %(tenant)s AND name = %(name)s
ORDER BY version DESC
LIMIT 1

-- name: template_insert
INSERT INTO pressroom_templates (tenant, name, version, engine, main, sha256, size, created_at,
                                 bundle)
VALUES (%(tenant)s, %(name)s, %(version)s, %(engine)s, %(main)s, %(sha256)s, %(size)s,
        coalesce(%(now)s::timestamptz, now()), %(bundle)s)
RETURNING {template_columns}

-- name: template_get
SELECT {template_columns}, bundle FROM pressroom_templates
WHERE tenant = %(tenant)s AND name = %(name)s
  AND (%(version)s::int IS NULL OR version = %(version)s::int)
ORDER BY version DESC
LIMIT 1

-- name: template_get_info
SELECT {template_columns} FROM pressroom_templates
WHERE tenant = %(tenant)s AND name = %(name)s
  AND (%(version)s::int IS NULL OR version = %(version)s::int)
ORDER BY version DESC
LIMIT 1

-- name: template_list
SELECT DISTINCT ON (name) {template_columns} FROM pressroom_templates
WHERE tenant = %(tenant)s
ORDER BY name, version DESC
