# Bounceback. Needs only python3 (with venv) and make; everything else goes
# into .venv. Your data lives in ./var (or $BOUNCEBACK_DATA_DIR).
#
#   make run      set up, migrate, load the demo business once, start web + worker
#   make test     migrations check and the whole test suite
#   make lint     ruff, formatting check, mypy
#   make format   fix what ruff can and reformat
#   make bench    run the benchmarks in bench/ (ingest, timers and cases, outreach, lists, email intake, webhooks, faults, apology coach, dashboards; ~60 min)
#   make openapi  rewrite bounceback/api/openapi.json after an intended API change
#   make clean    remove .venv and caches (keeps ./var)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; pip runs again only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint format bench openapi clean

help:
	@sed -n 's/^#   //p' Makefile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

# Serves like production (the product's own error pages, no debug pages); the
# session cookie is not Secure because the public address is plain http on this
# machine, so sign-in works. `make run PORT=9000` serves and links on :9000.
run: $(INSTALLED)
	@echo "==> Migrating the database"
	$(BIN)/bounceback migrate
	$(BIN)/bounceback demo --if-empty
	$(BIN)/bounceback serve

test: $(INSTALLED)
	$(BIN)/bounceback makemigrations --check --dry-run
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bounceback

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# All of them run even if one fails; the exit status is the first failure's.
BENCHES := run timers outreach lists email_intake webhooks faults coach negativity discovery learning dashboards
bench: $(INSTALLED)
	@status=0; for b in $(BENCHES); do \
		$(BIN)/python bench/$$b.py || { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	done; exit $$status

openapi: $(INSTALLED)
	$(BIN)/bounceback export_openapi_schema --api bounceback.config.api.api \
		--output bounceback/api/openapi.json --indent 2 --sorted

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
