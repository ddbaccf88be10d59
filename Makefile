# Steward's two entry points (see README): `make demo` and `make test`; `make image` builds the container image.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck test-sqlite test-postgres venv clean i18n image browser web

venv: $(STAMP)

# What running Steward needs (the demo); the test stamp adds the test tools (pytest, Synapse, linters).
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Talk to Steward in a generated demo community, in the terminal (no Slack or Matrix account needed).
demo: $(RUN_STAMP)
	$(BIN)/steward demo

## The demo community's web pages on http://127.0.0.1:8080/web/, with a one-time sign-in link.
web: $(RUN_STAMP)
	$(BIN)/steward web --community demo

## Lint, type-check, then the whole suite on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth).
test: lint typecheck browser test-sqlite test-postgres

# The browser tests (tests/web/test_browser.py) drive Debian's chromium with Playwright; nothing is downloaded
# at test time. As root (CI), install the package when it is missing; otherwise those tests say how and skip.
browser:
	@test -x /usr/bin/chromium || { test "$$(id -u)" = 0 && apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
		echo "chromium is not installed: the browser tests will be skipped (apt-get install chromium)"

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	STEWARD_TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	STEWARD_TEST_DATABASE=postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

i18n: $(STAMP)
	$(BIN)/python scripts/i18n.py

## Build the container image on a Debian base made with debootstrap, start it and check it (root; README).
image:
	scripts/image.sh

clean:
	rm -rf $(VENV) build *.egg-info
