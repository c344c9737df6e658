# Pressroom developer commands. `make run` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PRESSROOM_DATABASE_URL ?= sqlite:///pressroom-data/pressroom.db

.PHONY: run test lint typecheck unit bench clean

$(STAMP): pyproject.toml scripts/system-deps.sh
	@bash scripts/system-deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/pressroom migrate
	$(BIN)/pressroom worker --templates examples

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) pressroom-data .pytest_cache .mypy_cache .ruff_cache
