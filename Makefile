# The two set-up commands: `make demo` and `make test`. Both are idempotent: the virtual
# environment is (re)installed only when pyproject.toml or constraints.txt change.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint install clean bench chromium

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,tensorboard,tune,search,bench,compress,export,serve,explain,robust]'
	touch $@

install: $(STAMP)

# Debian's chromium for the report tests (installed only when missing)
chromium:
	@bash .ci/chromium

demo: $(STAMP)
	$(BIN)/archopt demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks

# pytest exit status 5 = no tests collected: a failure, said plainly
test: $(DEV_STAMP) lint chromium
	@$(BIN)/pytest -n 2 --dist loadgroup || { s=$$?; [ $$s -ne 5 ] || \
		echo "make test: pytest collected no tests (exit 5)" >&2; exit $$s; }

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
