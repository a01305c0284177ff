#!/usr/bin/env bash
# The test command of the README (and of CI). Starts what the tests need from the
# machine (PostgreSQL, Redis, LibreOffice) where it can, and says so where it cannot.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
. scripts/airflow-env.sh
export AIRFLOW_HOME="$PWD/.airflow-test"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
mkdir -p "$AIRFLOW_HOME"
.venv/bin/python -m etl suites --check || exit 1
.venv/bin/ruff check etl dags tests bench plugins || exit 1
exec .venv/bin/python -m pytest "$@"
