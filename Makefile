# Developer entry points. `make` alone lists them; only python3 (>= 3.11) and make are required.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# `pip install --user uv` puts uv here, which is often not on PATH yet.
export PATH := $(HOME)/.local/bin:$(PATH)

UV ?= uv
PYTHON ?= python3
# In CI the lock file must be up to date (fail instead of silently re-resolving).
UV_SYNC_FLAGS ?= $(if $(filter true 1,$(CI)),--locked,)
# Extra pytest arguments: make test PYTEST_ARGS="-k sessions -x"
PYTEST_ARGS ?=

.PHONY: help install run test lint migrate bench bench-ab bench-instr conformance image image-test alerts prometheus-tools clean clean-data

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'

install: ## Install uv if missing, then the locked dependencies into .venv
	@command -v $(UV) >/dev/null 2>&1 || { \
		echo "uv not found: installing it with pip (--user)"; \
		$(PYTHON) -m pip install --user --quiet uv 2>/dev/null \
		|| $(PYTHON) -m pip install --user --quiet --break-system-packages uv; \
	}
	@command -v $(UV) >/dev/null 2>&1 || { echo "error: uv is still not on PATH; install it: https://docs.astral.sh/uv/" >&2; exit 1; }
	@# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set, every run would otherwise compile the
	@# whole environment again (13 s before pytest collects anything).
	$(UV) sync --compile-bytecode $(UV_SYNC_FLAGS)

run: install ## Start PostgreSQL + Redis (embedded unless DATABASE_URL/REDIS_URL are set), gateway and converter
	$(UV) run acx-dev

test: install prometheus-tools ## Run the whole test suite (embedded servers unless DATABASE_URL/REDIS_URL are set)
	@# The inspector's browser tests drive Debian's chromium (Playwright never downloads a browser).
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "make test: could not install chromium (not root?): tests/e2e will skip (fail under CI)" >&2
	@rc=0; $(UV) run pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit code 5): that is a failure" >&2; fi; \
	exit $$rc

lint: install ## ruff (lint + format check), mypy --strict, import-linter, bandit
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) run bandit -q -c pyproject.toml -r shared services dev

migrate: install ## Apply database migrations (they also run when the services start)
	$(UV) run python -m acx_dev.migrate

bench: install ## Load-test gateway + converter vs baselines (BENCH_ARGS=--quick: smoke run)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	UV_PROJECT_ENVIRONMENT=bench/.venv $(UV) run $(UV_SYNC_FLAGS) --no-default-groups --group embedded --group bench \
		python -m bench.run $(BENCH_ARGS)

# `make bench-ab` / `make bench-instr BASE=<rev>`: the base revision in a throw-away worktree with its own .venv.
BASE ?= main
AB_ARGS ?=
INSTR_ARGS ?=
# This checkout's gateway runs from an environment like the base's (runtime dependencies only).
AB_VENV := .data/bench-ab/venv

# $(call against_base,WORKTREE,MODULE ARGS): `python -m MODULE --before WORKTREE --python <base's> <ours> ARGS`
# from bench/.venv, with BASE checked out in WORKTREE (removed afterwards, whatever the outcome).
define against_base
	UV_PROJECT_ENVIRONMENT=bench/.venv $(UV) sync $(UV_SYNC_FLAGS) --no-default-groups --group embedded --group bench
	UV_PROJECT_ENVIRONMENT=$(AB_VENV) $(UV) sync $(UV_SYNC_FLAGS) --no-default-groups
	git worktree remove --force $(1) 2>/dev/null || rm -rf $(1)
	git worktree add --detach $(1) $(BASE)
	status=0; (cd $(1) && $(UV) sync --frozen --no-default-groups) && \
		UV_PROJECT_ENVIRONMENT=bench/.venv $(UV) run --no-sync python -m $(firstword $(2)) --before $(1) \
		--python $(1)/.venv/bin/python $(AB_VENV)/bin/python $(wordlist 2,$(words $(2)),$(2)) \
		|| status=$$?; git worktree remove --force $(1); exit $$status
endef

bench-ab: install ## Interleaved A/B of this checkout's gateway vs BASE=<rev> (AB_ARGS="--rounds 15 --seconds 3")
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(call against_base,.data/bench-ab/base,bench.ab $(AB_ARGS))

# Instructions per request under callgrind: steady where timings are not.
bench-instr: install ## Instructions per request (callgrind) of this checkout vs BASE=<rev> (INSTR_ARGS="--requests 300")
	@command -v valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(call against_base,.data/bench-instr/base,bench.instructions $(INSTR_ARGS))

# The outside conversion corpus beside the checkout (reference material, never copied in).
CONFORMANCE_DIR ?= ../shared/conformance

conformance: install ## Run $(CONFORMANCE_DIR)/check.py against the service (BASE_URL=... to use a running one)
	$(UV) run python -m tests.conformance $(CONFORMANCE_DIR)

# The container image. IMAGE_BASE=public: the Dockerfile's registry base images; local: a Debian bookworm
# made here with debootstrap (cached in .data/image-base) and uv from PyPI, for machines without a registry.
IMAGE ?= acx:dev
IMAGE_BASE ?= public
IMAGE_TEST_TAG ?= localhost/acx:image-test

image: ## Build the container image, podman or docker (IMAGE=name:tag, IMAGE_BASE=local: no registry)
	deploy/build-image.sh -t $(IMAGE) $(if $(filter local,$(IMAGE_BASE)),--local-base,)

image-test: install ## Build the image from a local Debian base and run it against real PostgreSQL + Redis
	@command -v podman >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || { \
		echo "image-test: installing Debian's podman and debootstrap"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap; }
	CONTAINER_ENGINE=podman deploy/build-image.sh -t $(IMAGE_TEST_TAG) --local-base
	ACX_IMAGE=$(IMAGE_TEST_TAG) $(UV) run pytest tests/e2e/image --durations=5 $(PYTEST_ARGS)

alerts: ## Regenerate the kustomize PrometheusRule from deploy/prometheus/alerts.yaml
	deploy/prometheus/prometheus-rule.sh > deploy/k8s/base/prometheus-rule.yaml

# promtool checks and unit-tests the alert rules, and the Prometheus integration test runs the server.
prometheus-tools:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
		echo "installing Debian's prometheus package (prometheus, promtool)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

clean: ## Remove .venv and tool caches (keeps .data; see clean-data)
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis dist
	find . -path ./.data -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data: ## Delete .data (embedded PostgreSQL/Redis data of `make run` and of the tests)
	@for pidfile in .data/postgres/postmaster.pid .data/test/postgres/postmaster.pid .data/redis/redis.pid .data/test/redis/redis.pid; do \
		if [ -f $$pidfile ] && kill -0 "$$(head -n1 $$pidfile)" 2>/dev/null; then \
			echo "error: an embedded server is still running ($$pidfile); stop \`make run\` / the tests first" >&2; exit 1; \
		fi; \
	done
	rm -rf .data
