# Steward's two entry points (see README): `make demo` and `make test`; `make image` builds the container image.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck test-sqlite test-postgres venv clean i18n image

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

## Lint, type-check, then the whole suite on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth).
test: lint typecheck test-sqlite test-postgres

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
