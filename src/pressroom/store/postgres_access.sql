-- Named queries of the PostgreSQL driver for tenants, API keys, settings and idempotency records.
-- Without a given %(now)s, time comes from the database.

-- name: key_insert
INSERT INTO pressroom_api_keys (id, prefix, secret_hash, tenant, admin, name, created_at)
VALUES (%(id)s, %(prefix)s, %(secret_hash)s, %(tenant)s, %(admin)s, %(name)s, %(created_at)s)

-- name: key_get_by_prefix
SELECT id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at
FROM pressroom_api_keys WHERE prefix = %(prefix)s

-- name: key_list
SELECT id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at
FROM pressroom_api_keys WHERE %(tenant)s::text IS NULL OR tenant = %(tenant)s
ORDER BY created_at, id

-- name: key_revoke
UPDATE pressroom_api_keys SET revoked_at = coalesce(revoked_at, %(now)s, now())
WHERE id = %(id)s
RETURNING id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at

-- name: key_touch
UPDATE pressroom_api_keys SET last_used_at = coalesce(%(now)s, now()) WHERE id = %(id)s

-- name: key_count_active
SELECT count(*) FROM pressroom_api_keys WHERE revoked_at IS NULL

-- name: tenant_ensure
WITH ins AS (
    INSERT INTO pressroom_tenants (name, webhook_secret, created_at)
    VALUES (%(name)s, %(secret)s, coalesce(%(now)s, now()))
    ON CONFLICT (name) DO NOTHING
    RETURNING name, webhook_secret, created_at
)
SELECT name, webhook_secret, created_at FROM ins
UNION ALL
SELECT name, webhook_secret, created_at FROM pressroom_tenants WHERE name = %(name)s

-- name: tenant_get
SELECT name, webhook_secret, created_at FROM pressroom_tenants WHERE name = %(name)s

-- name: tenant_list
SELECT name, webhook_secret, created_at FROM pressroom_tenants ORDER BY name

-- name: tenant_secret_set
UPDATE pressroom_tenants SET webhook_secret = %(secret)s WHERE name = %(name)s
RETURNING name, webhook_secret, created_at

-- name: setting_get_or_create
WITH ins AS (
    INSERT INTO pressroom_settings (name, value, created_at)
    VALUES (%(name)s, %(value)s, coalesce(%(now)s, now()))
    ON CONFLICT (name) DO NOTHING
    RETURNING value
)
SELECT value FROM ins
UNION ALL
SELECT value FROM pressroom_settings WHERE name = %(name)s

-- name: setting_get
SELECT value FROM pressroom_settings WHERE name = %(name)s

-- name: idempotency_get
SELECT tenant, key, request_hash, job_id, created_at FROM pressroom_idempotency_keys
WHERE tenant = %(tenant)s AND key = %(key)s

-- name: idempotency_put
WITH ins AS (
    INSERT INTO pressroom_idempotency_keys (tenant, key, request_hash, job_id, created_at)
    VALUES (%(tenant)s, %(key)s, %(request_hash)s, %(job_id)s, coalesce(%(now)s, now()))
    ON CONFLICT (tenant, key) DO NOTHING
    RETURNING tenant, key, request_hash, job_id, created_at
)
SELECT tenant, key, request_hash, job_id, created_at FROM ins
UNION ALL
SELECT tenant, key, request_hash, job_id, created_at FROM pressroom_idempotency_keys
WHERE tenant = %(tenant)s AND key = %(key)s

-- name: idempotency_purge
DELETE FROM pressroom_idempotency_keys WHERE created_at < %(before)s

-- name: job_count_waiting
SELECT count(*) FROM (
    SELECT 1 FROM pressroom_jobs
    WHERE tenant = %(tenant)s AND status IN ('queued', 'scheduled') LIMIT %(limit)s
) AS waiting
