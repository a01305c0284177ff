# The two commands of the README:
#   make demo   install, init Airflow on SQLite, drop the sample partner files, run both DAGs
#   make test   install and run the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint lock clean-demo airflow

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip==25.3"
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	bash scripts/demo.sh

test: install
	bash scripts/test.sh

# The fast part alone (no real Airflow stacks, corpus, rendering or browser).
test-fast: install
	bash scripts/test.sh -m "not slow"

# The embedded Airflow for working in the UI: api-server, scheduler, dag-processor on SQLite;
# prints the URL and login, Ctrl-C stops it (AIRFLOW_PORT=... for another port than 8080).
airflow: install
	bash scripts/airflow-run.sh

lint: install
	$(VENV)/bin/ruff check etl dags tests bench plugins
	$(PY) -m etl suites --check

# Re-resolve the pins after editing requirements.in (needs network to the package index).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install -q -r requirements.in \
	  && .venv-lock/bin/pip freeze > requirements.lock && rm -rf .venv-lock

clean-demo:
	rm -rf data .airflow
