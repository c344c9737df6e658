-- Versioned templates (each version one zip bundle) and the render result cache key on jobs.
CREATE TABLE pressroom_templates (
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    engine     TEXT NOT NULL,
    main       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    bundle     BYTEA NOT NULL,
    PRIMARY KEY (tenant, name, version)
);
ALTER TABLE pressroom_templates ALTER COLUMN bundle SET STORAGE EXTERNAL;

ALTER TABLE pressroom_jobs ADD COLUMN cache_key TEXT;
CREATE INDEX pressroom_jobs_cache ON pressroom_jobs (tenant, cache_key, finished_at)
    WHERE cache_key IS NOT NULL AND status = 'succeeded';
