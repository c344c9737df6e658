-- Jobs, their event log, workers, leadership, cron ticks and queue limits.
-- Times are Unix epoch seconds (REAL); JSON values are TEXT.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant           TEXT NOT NULL DEFAULT 'default',
    task             TEXT NOT NULL,
    args             TEXT NOT NULL DEFAULT '{}',
    queue            TEXT NOT NULL DEFAULT 'default',
    priority         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    timeout_s        REAL,
    run_at           REAL NOT NULL,
    created_at       REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    progress_percent REAL NOT NULL DEFAULT 0,
    progress_message TEXT,
    error            TEXT,
    result           TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    unique_key       TEXT,
    worker_id        TEXT,
    lease_expires_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_running_worker ON jobs (worker_id) WHERE status = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_tenant ON jobs (tenant, id);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (tenant, unique_key)
    WHERE unique_key IS NOT NULL AND status NOT IN ('failed', 'cancelled');

CREATE TABLE job_events (
    seq    INTEGER PRIMARY KEY,  -- rowid: max+1, so a job's later events always sort after its earlier ones
    job_id TEXT NOT NULL,
    at     REAL NOT NULL,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, seq);

CREATE TABLE workers (
    id                TEXT PRIMARY KEY,
    host              TEXT NOT NULL,
    pid               INTEGER NOT NULL,
    queues            TEXT NOT NULL,
    concurrency       INTEGER NOT NULL,
    started_at        REAL NOT NULL,
    last_heartbeat_at REAL NOT NULL,
    running           TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE leaders (
    name       TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    expires_at REAL NOT NULL
);

CREATE TABLE cron_ticks (
    name   TEXT NOT NULL,
    tick   REAL NOT NULL,
    job_id TEXT,
    PRIMARY KEY (name, tick)
);

CREATE TABLE queues (
    name          TEXT PRIMARY KEY,
    concurrency   INTEGER,
    rate_count    INTEGER,
    rate_period_s REAL,
    tokens        REAL,
    refilled_at   REAL
);
