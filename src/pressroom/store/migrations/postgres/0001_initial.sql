-- Jobs, their event log, workers, leadership, cron ticks and queue limits.
CREATE TABLE pressroom_jobs (
    id               TEXT PRIMARY KEY,
    tenant           TEXT NOT NULL DEFAULT 'default',
    task             TEXT NOT NULL,
    args             JSONB NOT NULL DEFAULT '{}',
    queue            TEXT NOT NULL DEFAULT 'default',
    priority         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    timeout_s        DOUBLE PRECISION,
    run_at           TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    progress_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    progress_message TEXT,
    error            JSONB,
    result           JSONB,
    metadata         JSONB NOT NULL DEFAULT '{}',
    unique_key       TEXT,
    worker_id        TEXT,
    lease_expires_at TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX pressroom_jobs_claim ON pressroom_jobs (queue, priority DESC, run_at, id)
    WHERE status = 'queued';
CREATE INDEX pressroom_jobs_scheduled ON pressroom_jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX pressroom_jobs_running ON pressroom_jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX pressroom_jobs_running_worker ON pressroom_jobs (worker_id) WHERE status = 'running';
CREATE INDEX pressroom_jobs_finished ON pressroom_jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX pressroom_jobs_tenant ON pressroom_jobs (tenant, id);
CREATE UNIQUE INDEX pressroom_jobs_unique_key ON pressroom_jobs (tenant, unique_key)
    WHERE unique_key IS NOT NULL AND status NOT IN ('failed', 'cancelled');

CREATE TABLE pressroom_job_events (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL,
    kind   TEXT NOT NULL,
    data   JSONB NOT NULL
);
CREATE INDEX pressroom_job_events_job ON pressroom_job_events (job_id, seq);

CREATE TABLE pressroom_workers (
    id                TEXT PRIMARY KEY,
    host              TEXT NOT NULL,
    pid               INTEGER NOT NULL,
    queues            JSONB NOT NULL,
    concurrency       INTEGER NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    last_heartbeat_at TIMESTAMPTZ NOT NULL,
    running           JSONB NOT NULL DEFAULT '[]'
);

CREATE TABLE pressroom_leaders (
    name       TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE pressroom_cron_ticks (
    name   TEXT NOT NULL,
    tick   TIMESTAMPTZ NOT NULL,
    job_id TEXT,
    PRIMARY KEY (name, tick)
);

CREATE TABLE pressroom_queues (
    name          TEXT PRIMARY KEY,
    concurrency   INTEGER,
    rate_count    INTEGER,
    rate_period_s DOUBLE PRECISION,
    tokens        DOUBLE PRECISION,
    refilled_at   TIMESTAMPTZ
);
