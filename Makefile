# growlearn — set-up, tests, docs and demo. Everything installs into .venv (created if missing).
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.growlearn-installed
export PYTHONUNBUFFERED := 1
export MPLBACKEND := Agg

.PHONY: install demo test test-exact test-fast test-nbs test-py sync check-nbs proc-docs docs docs-check readme bench-quick clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The package asks for compatible ranges (pyproject.toml); our installs take the exact torch/torchvision of
# constraints.txt (pip -c), so pip never downloads another torch.
# pip's noise about this machine's local indexes ("Location ... is ignored") is filtered out
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@echo "== installing growlearn (editable) with its dev extras into $(VENV), torch pinned by constraints.txt"
	set -o pipefail; $(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	touch $(STAMP)

install: $(STAMP)

## the main job: pre-train on digits 0-4, transfer few-shot to 5-9, print a table, write plots
demo: install
	$(BIN)/growlearn demo

## library in sync with the notebooks, notebooks clean: export/clean must change nothing
sync: install
	@$(BIN)/python tools/sync_check.py

check-nbs: install
	@$(BIN)/python tools/check_nbs.py

## docs cells work: nbdev's notebook processing for the docs site
proc-docs: install
	@echo "== nbdev-proc-nbs"
	@set -o pipefail; cd nbs && ../$(BIN)/nbdev-proc-nbs 2>&1 | { grep -vE 'Quarto is not installed|requires root access|sudo: not found|Cancelled\. Please download|Warning|warn\(' || true; }
	@test -d _proc && echo "   _proc/ built"

## every notebook under pytest (one test each, #| slow skipped) and tests/
test: install sync check-nbs proc-docs
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

## quick loop while editing: notebooks + tests only
## the exactness-sensitive tests again, with MKL's conditional-reproducibility path (sums in another order, as on another CPU)
test-exact: install
	@MKL_CBWR=COMPATIBLE $(BIN)/python -m pytest -q -p no:cacheprovider -m exact tests; rc=$$?; \
	 if [ $$rc -eq 5 ]; then echo "no test is marked exact"; elif [ $$rc -ne 0 ]; then exit $$rc; fi

test-fast: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

## docs: the site in _docs/ — nbdev-docs where Quarto is on PATH, else MkDocs Material over _proc/ (offline,
## tools/build_docs.py) and the link checker (anchors included). Open _docs/index.html; search works from disk.
docs: proc-docs
	@if command -v quarto >/dev/null; then cd nbs && ../$(BIN)/nbdev-docs; \
	else echo "== Quarto is not on PATH: building the site with MkDocs Material (tools/build_docs.py)"; \
	     $(BIN)/python tools/build_docs.py && $(BIN)/python tools/check_site.py; fi

## docs, then headless Chromium (Debian: apt-get install -y chromium) checks three pages and the search;
## screenshots in growlearn_out/browser/
docs-check: docs
	$(BIN)/python tools/browser_check.py

## README.md from nbs/index.ipynb (nbdev-readme needs Quarto; this uses nbconvert)
readme: install
	$(BIN)/python tools/make_readme.py

bench-quick: install
	$(BIN)/growlearn bench --quick

clean:
	rm -rf _proc _docs _docs_src results growlearn_out .pytest_cache
