# The few verbs a newcomer needs. Everything runs through uv from the one lock file.
.PHONY: dev test lint format bench schemas docs infra-up infra-down infra-status sync system-deps asyncapi-tools asyncapi-check

# `uv` from PATH, else the module pip installs (a fresh machine may have no uv at all).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

sync:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --locked --all-packages

## Debian packages the stack and the tests use (installed when missing, as root)
system-deps:
	@bash deploy/local/system-deps.sh

## make dev: Kafka, PostgreSQL and every service on this machine (Ctrl-C stops all)
dev: system-deps sync
	$(UV) run python deploy/local/dev.py

## make test: the whole test suite against real Kafka and PostgreSQL (started on demand),
## in TEST_WORKERS processes (files are handed out whole; the 15 slowest tests are listed)
TEST_WORKERS ?= 2
test: system-deps sync
	$(UV) run pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

lint: sync
	$(UV) run ruff format --check .
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run python -m shoptrail.events schemas --check
	$(UV) run python -m shoptrail.kit.settings_docs --check
	$(UV) run python -m shoptrail.events.acl compose --check
	$(UV) run python deploy/k8s/bus.py --check

format: sync
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

## The official AsyncAPI parser (npm, locked; install scripts off), for the parser test
asyncapi-tools:
	npm ci --prefix tools/asyncapi-check --ignore-scripts --no-audit --no-fund

## make asyncapi-check: parse libs/events/asyncapi.json as third-party AsyncAPI tools do
asyncapi-check: asyncapi-tools
	node tools/asyncapi-check/check.mjs libs/events/asyncapi.json

bench: sync
	$(UV) run python bench/run.py

schemas: sync
	$(UV) run python -m shoptrail.events schemas

## make docs: regenerate the settings tables in deploy/README.md from each service's config.py
docs: sync
	$(UV) run python -m shoptrail.kit.settings_docs --write

infra-up:
	python3 deploy/local/stack.py up
infra-down:
	python3 deploy/local/stack.py down
infra-status:
	python3 deploy/local/stack.py status

## make bench-tools: the peers bench/bench_peers.py compares against (Kafka Connect with the
## Debezium JDBC sink, Benthos), fetched and built once into the cache; `make bench` needs them
.PHONY: bench-tools
bench-tools:
	bash bench/peers/setup.sh >/dev/null
bench: bench-tools
