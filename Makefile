# CareConnect Live: `make run` serves everything, `make test` runs the whole suite.
# Both install whatever is missing first (uv, the venv from uv.lock, the web build).

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
ARGS ?=
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -path web/out -prune -o -path web/.next -prune -o -type f -print 2>/dev/null)

.PHONY: run test bench soak lint migrate seed web clean lighthouse test-cluster

run: $(VENV)/.synced web/out/index.html
	$(PY) -m careconnect migrate
	@# The embedded default gets demo data (idempotent) so there is something to sign in to.
	@if [ -z "$$DATABASE_URL" ] && [ "$(SEED)" != "0" ]; then $(PY) -m careconnect seed; fi
	$(PY) -m careconnect serve --host $(HOST) --port $(PORT) --workers $(WORKERS) $(ARGS)

test: $(VENV)/.synced web/out/index.html
	cd web && npm run --silent lint && npm run --silent typecheck && npm run --silent types:check
	$(VENV)/bin/ruff check src tests examples packages
	$(VENV)/bin/mypy src
	$(PY) -m pytest -m "not cluster" --durations=30 $(ARGS)

# The scale-out topologies (two hosts behind HAProxy, a Redis Cluster with a failover, PgBouncer,
# a streaming replica, several servers or workers on one database)
# and the 5-minute bot run: slower, so a target of their own; .ci/run runs both.
test-cluster: $(VENV)/.synced web/out/index.html
	$(PY) -m pytest -m cluster $(ARGS)

bench: $(VENV)/.synced
	$(PY) -m bench.run $(ARGS)

soak: $(VENV)/.synced
	$(PY) -m bench.soak $(ARGS)

# Lighthouse (mobile) for /login, /register, the patient dashboard and the consultation page;
# writes the scores into docs/web.md (bench/lighthouse.py). Not part of `make test`.
lighthouse: $(VENV)/.synced web/out/index.html
	$(PY) -m bench.lighthouse $(ARGS)

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check src tests examples packages
	$(VENV)/bin/ruff format --check src tests examples packages

migrate: $(VENV)/.synced
	$(PY) -m careconnect migrate

seed: $(VENV)/.synced
	$(PY) -m careconnect migrate
	$(PY) -m careconnect seed

web: web/out/index.html

# uv itself: use the one on PATH, else install it into .tools/ (nothing outside the repo).
.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

# The static web build, rebuilt when any web source changes.
web/out/index.html: $(WEB_SOURCES)
	@if [ -f web/package.json ]; then \
	  cd web && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	else mkdir -p web/out && echo '<!doctype html><title>CareConnect</title>' > $@; fi

clean:
	rm -rf $(VENV) .tools web/out web/.next web/node_modules
