-- Tenants (with their webhook signing secret), API keys (prefix + SHA-256 of the whole key,
-- never the key), server-wide settings (the link-signing secret) and Idempotency-Key records.
-- Times are Unix epoch seconds (REAL).
CREATE TABLE tenants (
    name           TEXT PRIMARY KEY,
    webhook_secret TEXT NOT NULL,
    created_at     REAL NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    admin        INTEGER NOT NULL DEFAULT 0,
    name         TEXT,
    created_at   REAL NOT NULL,
    last_used_at REAL,
    revoked_at   REAL
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE idempotency_keys (
    tenant       TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    created_at   REAL NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Webhooks: a job's own webhook (attached right after the job is inserted), tenant-level
-- subscriptions, and the delivery outbox. Jobs that have a webhook or whose tenant has
-- subscriptions are flagged (webhooks = 1) when they are submitted; the trigger below fires
-- only for a flagged job changing into a terminal status, and enqueues its deliveries in the
-- same transaction. Other jobs' finishes pay for one column test.
ALTER TABLE jobs ADD COLUMN webhooks INTEGER NOT NULL DEFAULT 0;
CREATE TABLE job_webhooks (
    job_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    url    TEXT NOT NULL,
    secret TEXT
);

CREATE TABLE webhook_subscriptions (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,  -- JSON array: event types, or ["*"]
    created_at REAL NOT NULL
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    subscription_id TEXT,
    url             TEXT NOT NULL,
    secret          TEXT,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempt         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at      REAL NOT NULL,
    last_attempt_at REAL,
    last_error      TEXT,
    response_code   INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (tenant, job_id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
    delivery_id   TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    at            REAL NOT NULL,
    response_code INTEGER,
    error         TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TRIGGER jobs_webhook_outbox AFTER UPDATE OF status ON jobs
WHEN NEW.webhooks AND NEW.status IN ('succeeded', 'failed', 'cancelled')
 AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled')
BEGIN
    INSERT INTO webhook_deliveries (id, tenant, job_id, subscription_id, url, secret, event,
                                    payload, next_attempt_at, created_at)
    SELECT 'msg_' || lower(hex(randomblob(16))), NEW.tenant, NEW.id, NULL, w.url, w.secret,
           'job.' || NEW.status,
           json_object('id', NEW.id, 'status', NEW.status, 'attempt', NEW.attempt,
                       'task', NEW.task, 'queue', NEW.queue, 'error', json(NEW.error),
                       'result', json(NEW.result), 'metadata', json(NEW.metadata)),
           coalesce(NEW.finished_at, (julianday('now') - 2440587.5) * 86400.0),
           coalesce(NEW.finished_at, (julianday('now') - 2440587.5) * 86400.0)
    FROM job_webhooks AS w WHERE w.job_id = NEW.id
    UNION ALL
    SELECT 'msg_' || lower(hex(randomblob(16))), NEW.tenant, NEW.id, s.id, s.url, NULL,
           'job.' || NEW.status,
           json_object('id', NEW.id, 'status', NEW.status, 'attempt', NEW.attempt,
                       'task', NEW.task, 'queue', NEW.queue, 'error', json(NEW.error),
                       'result', json(NEW.result), 'metadata', json(NEW.metadata)),
           coalesce(NEW.finished_at, (julianday('now') - 2440587.5) * 86400.0),
           coalesce(NEW.finished_at, (julianday('now') - 2440587.5) * 86400.0)
    FROM webhook_subscriptions AS s
    WHERE s.tenant = NEW.tenant
      AND EXISTS (SELECT 1 FROM json_each(s.events) AS e
                  WHERE e.value IN ('*', 'job.' || NEW.status));
END;

-- Batches: many jobs submitted at once, inserted with their batch in one transaction.
CREATE TABLE batches (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    total      INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX batches_created ON batches (created_at);

CREATE TABLE batch_jobs (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    job_id   TEXT NOT NULL,
    PRIMARY KEY (batch_id, position)
);
