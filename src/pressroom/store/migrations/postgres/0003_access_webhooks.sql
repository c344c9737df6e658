-- Tenants (with their webhook signing secret), API keys (prefix + SHA-256 of the whole key,
-- never the key), server-wide settings (the link-signing secret) and Idempotency-Key records.
CREATE TABLE pressroom_tenants (
    name           TEXT PRIMARY KEY,
    webhook_secret TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE pressroom_api_keys (
    id           TEXT PRIMARY KEY,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    admin        BOOLEAN NOT NULL DEFAULT false,
    name         TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX pressroom_api_keys_tenant ON pressroom_api_keys (tenant, created_at);

CREATE TABLE pressroom_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE pressroom_idempotency_keys (
    tenant       TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX pressroom_idempotency_keys_created ON pressroom_idempotency_keys (created_at);

-- Webhooks: a job's own webhook (attached right after the job is inserted), tenant-level
-- subscriptions, and the delivery outbox. Jobs that have a webhook or whose tenant has
-- subscriptions are flagged (webhooks = true) when they are submitted; the row trigger below
-- fires only for a flagged job changing into a terminal status (its WHEN clause is checked
-- without calling the function, so other jobs' finishes pay nothing) and enqueues deliveries
-- in the same transaction.
ALTER TABLE pressroom_jobs ADD COLUMN webhooks BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE pressroom_job_webhooks (
    job_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    url    TEXT NOT NULL,
    secret TEXT
);

CREATE TABLE pressroom_webhook_subscriptions (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    url        TEXT NOT NULL,
    events     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pressroom_webhook_subscriptions_tenant ON pressroom_webhook_subscriptions (tenant);

CREATE TABLE pressroom_webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    subscription_id TEXT,
    url             TEXT NOT NULL,
    secret          TEXT,
    event           TEXT NOT NULL,
    payload         JSONB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempt         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_attempt_at TIMESTAMPTZ,
    last_error      TEXT,
    response_code   INTEGER
);
CREATE INDEX pressroom_webhook_deliveries_due ON pressroom_webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX pressroom_webhook_deliveries_job ON pressroom_webhook_deliveries (tenant, job_id);
CREATE INDEX pressroom_webhook_deliveries_created ON pressroom_webhook_deliveries (created_at)
    WHERE status <> 'pending';

CREATE TABLE pressroom_webhook_attempts (
    delivery_id   TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    response_code INTEGER,
    error         TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE FUNCTION pressroom_jobs_webhook_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pressroom_webhook_deliveries (id, tenant, job_id, subscription_id, url, secret,
                                              event, payload, next_attempt_at, created_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), NEW.tenant, NEW.id, t.sub,
           t.url, t.secret, 'job.' || NEW.status,
           jsonb_build_object('id', NEW.id, 'status', NEW.status, 'attempt', NEW.attempt,
                              'task', NEW.task, 'queue', NEW.queue, 'error', NEW.error,
                              'result', NEW.result, 'metadata', NEW.metadata),
           coalesce(NEW.finished_at, now()), coalesce(NEW.finished_at, now())
    FROM (
        SELECT NULL::text AS sub, w.url, w.secret FROM pressroom_job_webhooks AS w
        WHERE w.job_id = NEW.id
        UNION ALL
        SELECT s.id, s.url, NULL FROM pressroom_webhook_subscriptions AS s
        WHERE s.tenant = NEW.tenant AND (s.events ? '*' OR s.events ? ('job.' || NEW.status))
    ) AS t;
    RETURN NULL;
END $$;

CREATE TRIGGER pressroom_jobs_webhook_outbox AFTER UPDATE OF status ON pressroom_jobs
FOR EACH ROW
WHEN (NEW.webhooks AND NEW.status IN ('succeeded', 'failed', 'cancelled')
      AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
EXECUTE FUNCTION pressroom_jobs_webhook_outbox();

-- Batches: many jobs submitted at once, inserted with their batch in one transaction.
CREATE TABLE pressroom_batches (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    total      INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pressroom_batches_created ON pressroom_batches (created_at);

CREATE TABLE pressroom_batch_jobs (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    job_id   TEXT NOT NULL,
    PRIMARY KEY (batch_id, position)
);
