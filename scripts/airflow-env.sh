# Environment for running Airflow on the embedded default (SQLite, LocalExecutor).
# Source it: `. scripts/airflow-env.sh`. Everything stays inside the project folder.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_root/.airflow}"
mkdir -p "$AIRFLOW_HOME"
export AIRFLOW__CORE__DAGS_FOLDER="$_root/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
# timeout: SQLite has one writer; the default 5 s busy wait loses races between the
# scheduler and a CLI command (`airflow backfill create` failed with "database is locked").
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db?timeout=60}"
# ... and write transactions that begin IMMEDIATE, so a back-fill is made whole or not at all
# (etl/store/airflow_sqlite.py says why).
case "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in sqlite*)
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-etl.store.airflow_sqlite.CONNECT_ARGS}";;
esac
export AIRFLOW__CORE__DEFAULT_TIMEZONE=Europe/Amsterdam
# INFO so that task logs show what our loggers (etl.*, the DAGs) say; GX is chatty at INFO.
export AIRFLOW__LOGGING__LOGGING_LEVEL="${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}"
export AIRFLOW__LOGGING__NAMESPACE_LEVELS="${AIRFLOW__LOGGING__NAMESPACE_LEVELS:-great_expectations=WARNING}"
export MONITOR_DATA_DIR="${MONITOR_DATA_DIR:-$_root/data}"
export PYTHONPATH="$_root${PYTHONPATH:+:$PYTHONPATH}"
unset _root
