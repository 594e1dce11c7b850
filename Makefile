# Recurrent Networks, Hands-On: build, test and re-execute the book.
# `make book` and `make test` each set everything up from scratch on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb)) book/results.ipynb
export PYTHONHASHSEED := 0
# Checked by ruff format and mypy (the language-model engine; the other modules are to follow).
TYPED := $(addprefix ptb_utils/,__init__.py __main__.py cli.py config.py data.py generate.py \
	glue.py lstm.py machine.py metrics.py model.py params.py runs.py seeding.py steps.py train.py)

.PHONY: help install browser book book-strict lab pdf pin-colab test lint unit notebooks execute \
        bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed. On Debian: apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $@

install: $(STAMP)  ## create .venv: the package, the book tools, JupyterLab and the test tools

book: $(STAMP)  ## build the HTML book into _build/html
	$(BIN)/jupyter-book build . --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

book-strict: $(STAMP)  ## build the book from scratch, warnings as errors
	$(BIN)/jupyter-book build . --all -W -n --keep-going

lab: $(STAMP)  ## open the chapters in JupyterLab (trusted, so their saved widget views show)
	$(BIN)/jupyter trust notebooks/*.ipynb
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

pdf: $(STAMP) browser  ## the whole book as one PDF, _build/pdf/book.pdf (headless Chromium)
	$(BIN)/jupyter-book build . --builder singlehtml
	$(BIN)/python book/print_pdf.py _build/singlehtml/index.html _build/pdf/book.pdf

pin-colab: $(STAMP)  ## point every Colab setup cell at the last commit that changed the package
	$(BIN)/python -m ptb_utils.colab pin

lint: $(STAMP)  ## ruff on everything; ruff format and mypy on the modules in TYPED
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(TYPED)
	$(BIN)/mypy $(TYPED)

unit: $(STAMP)  ## unit tests of ptb_utils and the notebook checks, without executing notebooks
	$(BIN)/pytest -m "not slow"

notebooks: $(STAMP)  ## execute every notebook at its smoke parameters under nbval
	$(BIN)/pytest tests/test_notebooks.py

browser:  ## install headless Chromium for the browser tests (Debian, as root)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "note: no Chromium; the browser tests will be skipped (apt-get install chromium)"; fi; }

test: $(STAMP) browser lint  ## the whole suite: lint, strict book build, unit tests, notebooks under nbval, browser
	$(MAKE) book-strict
	@if command -v chromium >/dev/null; then $(MAKE) pdf; \
	else echo "note: no Chromium, so no PDF; its tests will be skipped"; fi
	$(BIN)/pytest

execute: $(STAMP)  ## re-run notebooks in place at their default parameters, then at their smoke ones
	@for nb in $(NOTEBOOKS); do \
	  echo "executing $$nb"; \
	  PTB_OFFLINE=1 $(BIN)/python -m ptb_utils.notebooks execute "$$nb" || exit 1; \
	done

bench: $(STAMP)  ## training-throughput benchmark of the language model (minutes)
	$(BIN)/python bench/train_throughput.py

clean:  ## remove build outputs (keeps .venv)
	rm -rf _build .pytest_cache
