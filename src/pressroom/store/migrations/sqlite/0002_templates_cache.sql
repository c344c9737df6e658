-- Versioned templates (each version one zip bundle) and the render result cache key on jobs.
-- Times are Unix epoch seconds (REAL).
CREATE TABLE templates (
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    engine     TEXT NOT NULL,
    main       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at REAL NOT NULL,
    bundle     BLOB NOT NULL,
    PRIMARY KEY (tenant, name, version)
);

ALTER TABLE jobs ADD COLUMN cache_key TEXT;
CREATE INDEX jobs_cache ON jobs (tenant, cache_key, finished_at)
    WHERE cache_key IS NOT NULL AND status = 'succeeded';
