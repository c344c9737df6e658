-- Named queries of the SQLite driver for tenants, API keys, settings and idempotency records.

-- name: key_insert
INSERT INTO api_keys (id, prefix, secret_hash, tenant, admin, name, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)

-- name: key_get_by_prefix
SELECT id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at
FROM api_keys WHERE prefix = ?

-- name: key_get
SELECT id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at
FROM api_keys WHERE id = ?

-- name: key_list
SELECT id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at
FROM api_keys WHERE ? IS NULL OR tenant = ?
ORDER BY created_at, id

-- name: key_revoke
UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?

-- name: key_touch
UPDATE api_keys SET last_used_at = ? WHERE id = ?

-- name: key_count_active
SELECT count(*) FROM api_keys WHERE revoked_at IS NULL

-- name: tenant_insert
INSERT INTO tenants (name, webhook_secret, created_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO NOTHING

-- name: tenant_get
SELECT name, webhook_secret, created_at FROM tenants WHERE name = ?

-- name: tenant_list
SELECT name, webhook_secret, created_at FROM tenants ORDER BY name

-- name: tenant_secret_set
UPDATE tenants SET webhook_secret = ? WHERE name = ?

-- name: setting_insert
INSERT INTO settings (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING

-- name: setting_get
SELECT value FROM settings WHERE name = ?

-- name: idempotency_get
SELECT tenant, key, request_hash, job_id, created_at FROM idempotency_keys
WHERE tenant = ? AND key = ?

-- name: idempotency_insert
INSERT INTO idempotency_keys (tenant, key, request_hash, job_id, created_at)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, key) DO NOTHING

-- name: idempotency_purge
DELETE FROM idempotency_keys WHERE created_at < ?

-- name: job_count_waiting
SELECT count(*) FROM (
    SELECT 1 FROM jobs WHERE tenant = ? AND status IN ('queued', 'scheduled') LIMIT ?
)
