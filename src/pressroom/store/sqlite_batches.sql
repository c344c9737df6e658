-- Named queries of the SQLite driver for batches.

-- name: batch_insert
INSERT INTO batches (id, tenant, total, created_at) VALUES (?, ?, ?, ?)

-- name: batch_job_insert
INSERT INTO batch_jobs (batch_id, position, job_id) VALUES (?, ?, ?)

-- name: batch_get
SELECT id, tenant, total, created_at FROM batches WHERE id = ? AND tenant = ?

-- name: batch_members
SELECT b.position, b.job_id, j.status, j.progress_percent, j.result
FROM batch_jobs AS b LEFT JOIN jobs AS j ON j.id = b.job_id
WHERE b.batch_id = ?
ORDER BY b.position

-- name: batch_purge_members
DELETE FROM batch_jobs WHERE batch_id IN (SELECT id FROM batches WHERE created_at < ?)

-- name: batch_purge
DELETE FROM batches WHERE created_at < ?
