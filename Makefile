# Pressroom developer commands. `make run` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PRESSROOM_DATABASE_URL ?= sqlite:///pressroom-data/pressroom.db

.PHONY: run test lint typecheck unit bench bench-docs bench-http clean

$(STAMP): pyproject.toml scripts/system-deps.sh
	@bash scripts/system-deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/pressroom migrate
	$(BIN)/pressroom serve --host 127.0.0.1 --port 8000 --templates examples

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

# The queue benchmark: Pressroom and its peers (Huey, pgqueuer, Procrastinate, RQ, Celery) in
# one interpreter of their own (bench/.venv-peers), measured in the same run; then the
# claim-depth benchmark on PostgreSQL. Writes bench/RESULTS.md. Needs PostgreSQL and Redis.
PEERS_VENV := bench/.venv-peers
PEERS_PY   := $(PEERS_VENV)/bin/python
BENCH_RUNS ?= 3
BENCH_ARGS ?=

$(PEERS_VENV)/.installed: bench/requirements-peers.txt pyproject.toml
	@test -x $(PEERS_PY) || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --quiet --upgrade pip
	$(PEERS_PY) -m pip install --quiet -r bench/requirements-peers.txt -e .
	@touch $@

bench: $(STAMP) $(PEERS_VENV)/.installed
	$(PEERS_PY) bench/peers.py --all --runs $(BENCH_RUNS) --json bench/out/peers.json $(BENCH_ARGS)
	$(BIN)/python bench/depth.py --runs 3 --json bench/out/depth.json
	$(PEERS_PY) bench/report.py bench/out/peers.json --depth bench/out/depth.json -o bench/RESULTS.md
	$(MAKE) bench-docs

# The documents benchmark: render jobs through `pressroom worker -c 2` against bare library
# loops, engine against engine, a worker child's memory over 1,000 invoices and 200 reports,
# a 100,000-row workbook; about 30 min on a busy 2-core machine (DOCS_ARGS=--quick: ~3 min).
# Writes the Documents section of bench/RESULTS.md. Never run by `make test`.
DOCS_ARGS ?= --memory-alongside

bench-docs: $(STAMP)
	$(BIN)/python bench/documents.py $(DOCS_ARGS)
	$(BIN)/python bench/docreport.py bench/out/documents.json -o bench/RESULTS.md

# The HTTP accept path: POST /v1/jobs of `pressroom serve` beside bare FastAPI endpoints (202, one
# SQLite insert, one PostgreSQL insert, an RQ enqueue) under wrk -c64, and submit -> SSE latency.
# Writes its section of bench/RESULTS.md. Needs wrk (apt-get install wrk), PostgreSQL and Redis.
bench-http: $(STAMP) $(PEERS_VENV)/.installed
	$(PEERS_PY) bench/http_bench.py --runs 3 --postgres

clean:
	rm -rf $(VENV) pressroom-data .pytest_cache .mypy_cache .ruff_cache
