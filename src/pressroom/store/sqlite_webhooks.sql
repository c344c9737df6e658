-- Named queries of the SQLite driver for webhooks: job webhooks, subscriptions, the outbox.

-- name: job_webhook_upsert
INSERT INTO job_webhooks (job_id, tenant, url, secret) VALUES (?, ?, ?, ?)
ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, secret = excluded.secret

-- name: job_status
SELECT status, webhooks FROM jobs WHERE id = ? AND tenant = ?

-- name: job_flag
UPDATE jobs SET webhooks = 1 WHERE id = ?

-- name: delivery_enqueue_job
-- The job's own webhook, for a job that had already ended when the webhook was attached.
INSERT INTO webhook_deliveries (id, tenant, job_id, subscription_id, url, secret, event,
                                payload, next_attempt_at, created_at)
SELECT 'msg_' || lower(hex(randomblob(16))), j.tenant, j.id, NULL, w.url, w.secret,
       'job.' || j.status,
       json_object('id', j.id, 'status', j.status, 'attempt', j.attempt, 'task', j.task,
                   'queue', j.queue, 'error', json(j.error), 'result', json(j.result),
                   'metadata', json(j.metadata)),
       ?, ?
FROM jobs AS j JOIN job_webhooks AS w ON w.job_id = j.id
WHERE j.id = ?

-- name: delivery_enqueue_subscriptions
-- The tenant's matching subscriptions, for a job that had ended before it was flagged.
INSERT INTO webhook_deliveries (id, tenant, job_id, subscription_id, url, secret, event,
                                payload, next_attempt_at, created_at)
SELECT 'msg_' || lower(hex(randomblob(16))), j.tenant, j.id, s.id, s.url, NULL,
       'job.' || j.status,
       json_object('id', j.id, 'status', j.status, 'attempt', j.attempt, 'task', j.task,
                   'queue', j.queue, 'error', json(j.error), 'result', json(j.result),
                   'metadata', json(j.metadata)),
       ?, ?
FROM jobs AS j JOIN webhook_subscriptions AS s ON s.tenant = j.tenant
WHERE j.id = ?
  AND EXISTS (SELECT 1 FROM json_each(s.events) AS e WHERE e.value IN ('*', 'job.' || j.status))

-- name: subscription_insert
INSERT INTO webhook_subscriptions (id, tenant, url, events, created_at) VALUES (?, ?, ?, ?, ?)

-- name: subscription_list
SELECT id, tenant, url, events, created_at FROM webhook_subscriptions
WHERE tenant = ? ORDER BY created_at, id

-- name: subscription_delete
DELETE FROM webhook_subscriptions WHERE tenant = ? AND id = ?

-- name: delivery_due
SELECT id FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= ?
ORDER BY next_attempt_at, id
LIMIT ?

-- name: delivery_claim
UPDATE webhook_deliveries
SET attempt = attempt + 1, next_attempt_at = ?, last_attempt_at = ?
WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'
RETURNING {delivery_columns}

-- name: delivery_record
UPDATE webhook_deliveries
SET status = ?, next_attempt_at = coalesce(?, next_attempt_at), response_code = ?,
    last_error = ?
WHERE id = ? AND attempt = ? AND status = 'pending'

-- name: attempt_insert
INSERT INTO webhook_attempts (delivery_id, attempt, at, response_code, error)
VALUES (?, ?, ?, ?, ?)

-- name: attempt_list
SELECT a.attempt, a.at, a.response_code, a.error
FROM webhook_attempts AS a JOIN webhook_deliveries AS d ON d.id = a.delivery_id
WHERE d.tenant = ? AND d.id = ?
ORDER BY a.attempt

-- name: delivery_list
SELECT {delivery_columns} FROM webhook_deliveries
WHERE tenant = ? AND (? IS NULL OR job_id = ?)
ORDER BY created_at DESC, id DESC
LIMIT ?

-- name: delivery_get
SELECT {delivery_columns} FROM webhook_deliveries WHERE id = ?

-- name: attempt_purge
DELETE FROM webhook_attempts WHERE delivery_id IN (
    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?
)

-- name: delivery_purge
DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?

-- name: job_webhook_prune
DELETE FROM job_webhooks WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_webhooks.job_id)
