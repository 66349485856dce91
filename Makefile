# Two commands on a fresh machine (python3, pip, make): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo serve test lint typecheck bench browser clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev,spark]"
	touch $(VENV)/.runtime $(VENV)/.service $@

$(VENV)/.service: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[service]"
	touch $@

demo: $(VENV)/.runtime
	$(VENV)/bin/ethica demo

# The DP query service on Adult: writes example-service/ once, prints a new key for the
# analyst "alice", and serves http://127.0.0.1:8000/ (Ctrl-C stops it).
serve: $(VENV)/.service
	test -f example-service/service.yaml || $(VENV)/bin/ethica serve example example-service
	$(VENV)/bin/ethica serve keys create alice --config example-service/service.yaml
	$(VENV)/bin/ethica serve --config example-service/service.yaml

# The HTML report is checked in a real headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev browser
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

# Every benchmark prints its ratio against the peer measured in the same run.
bench: $(VENV)/.dev
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) ethica-demo example-service .pytest_cache .mypy_cache .ruff_cache
