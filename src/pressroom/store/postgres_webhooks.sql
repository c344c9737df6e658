-- Named queries of the PostgreSQL driver for webhooks: job webhooks, subscriptions, the outbox.

-- name: job_lock
-- Locks the job row: a finish waits for this transaction (and its trigger then sees the new
-- webhook), or this waits for the finish (and sees the terminal status).
SELECT status, webhooks FROM pressroom_jobs
WHERE id = %(job_id)s AND tenant = %(tenant)s FOR UPDATE

-- name: job_flag
UPDATE pressroom_jobs SET webhooks = true WHERE id = %(job_id)s

-- name: job_webhook_upsert
INSERT INTO pressroom_job_webhooks (job_id, tenant, url, secret)
VALUES (%(job_id)s, %(tenant)s, %(url)s, %(secret)s)
ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, secret = excluded.secret

-- name: delivery_enqueue_job
INSERT INTO pressroom_webhook_deliveries (id, tenant, job_id, subscription_id, url, secret,
                                          event, payload, next_attempt_at, created_at)
SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), j.tenant, j.id, NULL, w.url,
       w.secret, 'job.' || j.status,
       jsonb_build_object('id', j.id, 'status', j.status, 'attempt', j.attempt, 'task', j.task,
                          'queue', j.queue, 'error', j.error, 'result', j.result,
                          'metadata', j.metadata),
       coalesce(%(now)s, now()), coalesce(%(now)s, now())
FROM pressroom_jobs AS j JOIN pressroom_job_webhooks AS w ON w.job_id = j.id
WHERE j.id = %(job_id)s

-- name: delivery_enqueue_subscriptions
INSERT INTO pressroom_webhook_deliveries (id, tenant, job_id, subscription_id, url, secret,
                                          event, payload, next_attempt_at, created_at)
SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), j.tenant, j.id, s.id, s.url,
       NULL, 'job.' || j.status,
       jsonb_build_object('id', j.id, 'status', j.status, 'attempt', j.attempt, 'task', j.task,
                          'queue', j.queue, 'error', j.error, 'result', j.result,
                          'metadata', j.metadata),
       coalesce(%(now)s, now()), coalesce(%(now)s, now())
FROM pressroom_jobs AS j JOIN pressroom_webhook_subscriptions AS s ON s.tenant = j.tenant
WHERE j.id = %(job_id)s AND (s.events ? '*' OR s.events ? ('job.' || j.status))

-- name: subscription_insert
INSERT INTO pressroom_webhook_subscriptions (id, tenant, url, events, created_at)
VALUES (%(id)s, %(tenant)s, %(url)s, %(events)s, %(created_at)s)

-- name: subscription_list
SELECT id, tenant, url, events, created_at FROM pressroom_webhook_subscriptions
WHERE tenant = %(tenant)s ORDER BY created_at, id

-- name: subscription_delete
DELETE FROM pressroom_webhook_subscriptions WHERE tenant = %(tenant)s AND id = %(id)s
RETURNING id

-- name: delivery_claim
WITH due AS (
    SELECT id FROM pressroom_webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= coalesce(%(now)s, now())
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE pressroom_webhook_deliveries AS d
SET attempt = d.attempt + 1,
    next_attempt_at = coalesce(%(now)s, now()) + make_interval(secs => %(lease_s)s),
    last_attempt_at = coalesce(%(now)s, now())
FROM due WHERE d.id = due.id
RETURNING {d_delivery_columns}

-- name: delivery_record
UPDATE pressroom_webhook_deliveries
SET status = %(status)s, next_attempt_at = coalesce(%(next_attempt_at)s, next_attempt_at),
    response_code = %(response_code)s, last_error = %(error)s
WHERE id = %(id)s AND attempt = %(attempt)s AND status = 'pending'
RETURNING id

-- name: attempt_insert
INSERT INTO pressroom_webhook_attempts (delivery_id, attempt, at, response_code, error)
VALUES (%(id)s, %(attempt)s, coalesce(%(now)s, now()), %(response_code)s, %(error)s)

-- name: attempt_list
SELECT a.attempt, a.at, a.response_code, a.error
FROM pressroom_webhook_attempts AS a
JOIN pressroom_webhook_deliveries AS d ON d.id = a.delivery_id
WHERE d.tenant = %(tenant)s AND d.id = %(id)s
ORDER BY a.attempt

-- name: delivery_list
SELECT {delivery_columns} FROM pressroom_webhook_deliveries
WHERE tenant = %(tenant)s AND (%(job_id)s::text IS NULL OR job_id = %(job_id)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- name: attempt_purge
DELETE FROM pressroom_webhook_attempts WHERE delivery_id IN (
    SELECT id FROM pressroom_webhook_deliveries
    WHERE status <> 'pending' AND created_at < %(before)s
)

-- name: delivery_purge
DELETE FROM pressroom_webhook_deliveries WHERE status <> 'pending' AND created_at < %(before)s

-- name: job_webhook_prune
DELETE FROM pressroom_job_webhooks AS w
WHERE NOT EXISTS (SELECT 1 FROM pressroom_jobs AS j WHERE j.id = w.job_id)
