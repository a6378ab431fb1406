# One entry point for people and CI: every target sets itself up first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
RUN := $(VENV)/bin

export DO_NOT_TRACK := 1

.PHONY: setup run test test-fast lint docs bench clean chromium compat screenshot cjk-font

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $(STAMP)

# Our own modules compiled too (PYTHONDONTWRITEBYTECODE is set on some machines): imports are
# most of what a no-op run or a query costs.
setup: $(STAMP)
	@$(RUN)/python -m compileall -q flows transforms warehouse benchmarks >/dev/null

run: setup
	$(RUN)/newslake run $(ARGS)

test: setup chromium compat
	$(RUN)/pytest $(PYTEST_ARGS)

# Pure modules and the lake object driven directly: under a minute, nothing to install but the venv.
test-fast: setup
	$(RUN)/pytest -m fast $(PYTEST_ARGS)

# Debian's chromium renders the HTML report in a test; installed when missing and we are root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the report rendering test will skip"; fi; }

# docs/report.png: the report of the bundled sample lake (200 generated articles over 18 months,
# all its days charted) at a laptop's width, photographed by headless Chromium (tests/browser.py).
SHOT := data/screenshot
screenshot: setup chromium cjk-font
	rm -rf $(SHOT)
	$(RUN)/newslake sample --out $(SHOT)/sample
	$(RUN)/newslake run --source $(SHOT)/sample --lake $(SHOT)/lake >/dev/null
	$(RUN)/newslake report --lake $(SHOT)/lake --out $(SHOT)/report.html --days 3650
	$(RUN)/python -m tests.browser $(SHOT)/report.html docs/report.png --width 1280 --until '#quality'

# The sample's titles and feeds are Chinese: without a CJK font Chromium draws them as boxes.
cjk-font:
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else echo "no CJK font (Debian: fonts-wqy-microhei): Chinese text will show as boxes"; fi; }

# The clients BI tools bundle, for the catalog compatibility test: DuckDB's Python client at the
# versions in tests/compat/python/duckdb-*.txt, and DuckDB's Node client with Evidence's connector
# at the versions in tests/compat/node-*/package-lock.json; and the tree's readers with their own
# environments, pandas and pyspark (tests/compat/python/pandas-*.txt, pyspark-*.txt; Spark's test
# skips without Java). Installed once into .tools/compat.
COMPAT := .tools/compat
COMPAT_PY := $(patsubst tests/compat/python/%.txt,$(COMPAT)/%/.ok,$(wildcard tests/compat/python/*.txt))
COMPAT_NODE := $(patsubst tests/compat/%/package-lock.json,$(COMPAT)/%/.ok,$(wildcard tests/compat/node-*/package-lock.json))

compat: $(COMPAT_PY) $(COMPAT_NODE)

$(COMPAT)/%/.ok: tests/compat/python/%.txt | $(STAMP)
	$(UV) venv --quiet --allow-existing --python $(RUN)/python $(@D)
	$(UV) pip install --quiet --compile-bytecode --python $(@D)/bin/python -r $<
	touch $@

$(COMPAT)/node-%/.ok: tests/compat/node-%/package-lock.json tests/compat/node-%/package.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm is not installed: the Node and Evidence compatibility tests will fail"; fi; }
	mkdir -p $(@D)
	cp tests/compat/node-$*/package.json tests/compat/node-$*/package-lock.json $(@D)/
	cd $(@D) && npm install --no-audit --no-fund --loglevel=error >/dev/null  # the lock pins every version (npm ci trips on platform packages the lock cannot list)
	touch $@

lint: setup
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .
	$(RUN)/mypy

docs: setup
	$(RUN)/python -m warehouse.dictionary > docs/data-dictionary.md

# The benchmark measures what a user installs (no test tools), in an environment of its own.
BENCH_VENV := .venv-bench
# Real-derived corpora dated into three months (large partitions); 1000000 takes about 40 minutes.
LARGE_SIZES ?= 200000

# Realistic real-derived corpora (benchmarks/corpus.py: each copy's own text unique, what several
# real files share kept), and plain copies of the same files, labelled as such.
REAL ?= ../shared/corpus
BENCH_SIZES ?= 20000

bench: $(UV)
	UV_PROJECT_ENVIRONMENT=$(BENCH_VENV) $(UV) sync --frozen --quiet --compile-bytecode --no-dev --group bench
	$(BENCH_VENV)/bin/python -m benchmarks.run --sizes $(BENCH_SIZES) --real $(REAL) $(ARGS)
	$(BENCH_VENV)/bin/python -m benchmarks.run --sizes $(BENCH_SIZES) --real $(REAL) --plain-copies --no-prefect
	$(BENCH_VENV)/bin/python -m benchmarks.large_partitions --sizes $(LARGE_SIZES) --real $(REAL)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(TOOLS) data .pytest_cache .mypy_cache .ruff_cache
