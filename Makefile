# Two commands do all the set-up: `make run` serves the site, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test test-scale install migrate lint format bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,redis,postgres]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py migrate --database localai --noinput

run: migrate
	$(BIN)/python manage.py bootstrap_demo
	$(BIN)/python manage.py close_stale_replies
	$(BIN)/daphne -b $(HOST) -p $(PORT) assistants_site.asgi:application

test: install
	$(BIN)/python -m pytest

# The same suite on PostgreSQL + Redis, plus the scale-out and load tests that need them.
# scripts/scale-services installs (Debian packages) and starts both on loopback if needed.
test-scale: install
	services="$$(scripts/scale-services start)" && eval "$$services" && $(BIN)/python -m pytest

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,redis,postgres,bench]'
	touch $@

# The streaming path against a bare relay, side by side, on loopback (about 6-10 minutes);
# prints the tables and writes them into docs/performance.md. `make bench BENCH_ARGS=--help`.
bench: install $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
