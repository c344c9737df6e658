-- Named queries of the PostgreSQL driver for batches.

-- name: batch_insert
INSERT INTO pressroom_batches (id, tenant, total, created_at)
VALUES (%(id)s, %(tenant)s, %(total)s, coalesce(%(now)s, now()))
RETURNING created_at

-- name: batch_jobs_insert
INSERT INTO pressroom_batch_jobs (batch_id, position, job_id)
SELECT %(id)s, p.position - 1, p.job_id
FROM unnest(%(job_ids)s::text[]) WITH ORDINALITY AS p (job_id, position)

-- name: batch_get
SELECT id, tenant, total, created_at FROM pressroom_batches
WHERE id = %(id)s AND tenant = %(tenant)s

-- name: batch_members
SELECT b.position, b.job_id, j.status, j.progress_percent, j.result
FROM pressroom_batch_jobs AS b LEFT JOIN pressroom_jobs AS j ON j.id = b.job_id
WHERE b.batch_id = %(id)s
ORDER BY b.position

-- name: batch_purge_members
DELETE FROM pressroom_batch_jobs
WHERE batch_id IN (SELECT id FROM pressroom_batches WHERE created_at < %(before)s)

-- name: batch_purge
DELETE FROM pressroom_batches WHERE created_at < %(before)s
