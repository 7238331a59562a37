# Careloop: `make run` serves on http://127.0.0.1:5000, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The development defaults, in this one place (README "Configuration"): a SQLite file, personal
# data encrypted with public development keys (ops/secrets.py), cookies over plain http on
# 127.0.0.1 and readable logs. Outside make, `careloop serve` refuses to start without keys.
export CARELOOP_DATABASE_URL ?= sqlite:///$(CURDIR)/instance/careloop.db
export CARELOOP_INSECURE_DEV ?= 1
export CARELOOP_INSECURE_COOKIES ?= 1
export CARELOOP_LOG_FORMAT ?= text

.PHONY: install run test lint migrate publish bench bench-full soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The English catalog over the Chinese messages, compiled from its .po.
CATALOG := web/translations/en/LC_MESSAGES/messages
$(CATALOG).mo: $(CATALOG).po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d web/translations

install: $(STAMP) $(CATALOG).mo

migrate: install
	mkdir -p instance
	$(BIN)/careloop db upgrade

# Files are published unless the admin published a pack since they last were: then the
# admin's version stays and one line says so (`careloop pack export` brings it to files).
publish: migrate
	$(BIN)/careloop publish --keep-admin --by make-run workflows/*/
	$(BIN)/careloop user first

run: publish
	$(BIN)/careloop serve --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict .

# Two test processes on the two cores, then the tests that start several processes of their own
# (schedulers, gunicorn, the soak) alone, so that no other test competes with what they time.
test: lint
	$(BIN)/python -m pytest -n 2 -m "not serial"
	$(BIN)/python -m pytest -m serial

# Benchmarks at small sizes (each script takes --full for the issue's sizes): figures,
# baselines measured in the same run, and ratios. See docs/performance.md.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Row 5 (HTTP intake) loads the server with Debian's `wrk`: installed here when missing, as
# .ci/run installs Chromium, so the row is never skipped. The test suite itself needs no wrk.
WRK := /usr/bin/wrk
$(WRK):
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

bench: install $(BENCH_STAMP) $(WRK)
	$(BIN)/python -m bench.full --small

# Issue #12: every bench at the issue's sizes, one after the other, into bench/results/full-<date>.txt
# (about an hour on the 2-core machine; docs/performance.md's table comes from such a log).
bench-full: install $(BENCH_STAMP) $(WRK)
	$(BIN)/python -m bench.full

# Issue #14: ten minutes of API load on 2 web workers + 2 schedulers over a PostgreSQL of its
# own, with a worker and a scheduler killed and PostgreSQL restarted (docs/performance.md).
soak: install
	$(BIN)/python bench/soak.py --minutes 10

clean:
	rm -rf $(VENV) instance .pytest_cache
