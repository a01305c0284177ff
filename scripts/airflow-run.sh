#!/usr/bin/env bash
# The embedded Airflow as the data team runs it (`make airflow`): api-server (UI and the
# execution API the tasks report to), scheduler (LocalExecutor) and dag-processor, on
# SQLite, with the project's settings and the Leveringen plugin. No triggerer: nothing
# in dags/ defers. Prints the URL and the login; Ctrl-C (or SIGTERM) stops everything.
#
# Every component runs in its own process group (setsid), so stopping it also stops the
# task processes it forked: TERM to each group, up to AIRFLOW_STOP_GRACE seconds, then
# KILL to whatever is left. If one component dies, the others are stopped too.
#
# Settings (environment, all optional):
#   AIRFLOW_PORT        api-server port on 127.0.0.1 (default 8080; tests pass a free one)
#   AIRFLOW_HOME        default .airflow/ in the project;  MONITOR_DATA_DIR default ./data
#   AIRFLOW_USERS       simple auth manager users, "name:role,..." (default admin:admin)
#   AIRFLOW_STOP_GRACE  seconds between TERM and KILL (default 20)
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/airflow-env.sh
PATH="$PWD/.venv/bin:$PATH"

port="${AIRFLOW_PORT:-8080}"
url="http://127.0.0.1:$port"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$port"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__API__BASE_URL="$url"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$url/execution/"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
# Secondary servers on ports of their own, so two stacks (or a test) never collide on
# 8793/8794/8974: logs are served from the shared log folder anyway on one machine.
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-$((port + 713))}"
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
# One secret per AIRFLOW_HOME: the api-server signs the tasks' tokens and the scheduler's
# workloads with it; two processes with different random secrets make every task fail.
secret_file="$AIRFLOW_HOME/.monitor-secrets"
if [ ! -s "$secret_file" ]; then
  (umask 077; python -c 'import secrets; print(secrets.token_urlsafe(32)); print(secrets.token_urlsafe(32))' >"$secret_file")
fi
export AIRFLOW__API_AUTH__JWT_SECRET="$(sed -n 1p "$secret_file")"
export AIRFLOW__API__SECRET_KEY="$(sed -n 2p "$secret_file")"

logs="$AIRFLOW_HOME/services"
rm -f "$logs/ready"
mkdir -p "$logs" "$MONITOR_DATA_DIR"
echo "== Airflow metadata database (SQLite in $AIRFLOW_HOME)"
airflow db migrate >"$logs/db-migrate.log" 2>&1 || { tail -40 "$logs/db-migrate.log"; exit 1; }

declare -A pids=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo
  echo "== Stopping Airflow (TERM, then KILL after ${AIRFLOW_STOP_GRACE:-20} s)"
  for name in "${!pids[@]}"; do kill -TERM -- "-${pids[$name]}" 2>/dev/null; done
  local deadline=$((SECONDS + ${AIRFLOW_STOP_GRACE:-20}))
  for name in "${!pids[@]}"; do
    while kill -0 -- "-${pids[$name]}" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
  done
  for name in "${!pids[@]}"; do
    if kill -0 -- "-${pids[$name]}" 2>/dev/null; then
      echo "   $name did not stop in time: KILL"
      kill -KILL -- "-${pids[$name]}" 2>/dev/null
    fi
  done
  wait 2>/dev/null
  echo "== Stopped"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

start() {  # start NAME ARGS...: its own session and process group; $! is the group id
  local name=$1; shift
  setsid airflow "$@" >"$logs/$name.log" 2>&1 </dev/null &
  pids[$name]=$!
}
start api-server api-server --host 127.0.0.1 --port "$port" --workers "$AIRFLOW__API__WORKERS"
start scheduler scheduler
start dag-processor dag-processor

echo "== Waiting for the api-server on $url"
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null "$url/api/v2/monitor/health" 2>/dev/null && break
  for name in "${!pids[@]}"; do
    kill -0 "${pids[$name]}" 2>/dev/null || { echo "$name exited; last lines of $logs/$name.log:"; tail -30 "$logs/$name.log"; exit 1; }
  done
  sleep 0.5
done
curl -fsS -o /dev/null "$url/api/v2/monitor/health" || { echo "api-server not answering; see $logs/api-server.log"; exit 1; }

python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" "$url" <<'PY'
import json, os, sys
path, url = sys.argv[1], sys.argv[2]
passwords = json.load(open(path)) if os.path.exists(path) else {}
users = [u.split(":") for u in os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",") if u]
print(f"== Airflow UI: {url}")
for name, role, *_ in users:
    print(f"   login: {name} / {passwords.get(name, '?')}   (role {role}; passwords in {path})")
print(f"   Leveringen: {url}/leveringen/  (also in the UI's navigation)")
print(f"   logs of the services: {os.environ['AIRFLOW_HOME']}/services/; task logs in the UI")
print("   DAGs start paused: unpause in the UI or with `airflow dags unpause <dag_id>`")
print("== Ctrl-C stops everything")
PY
echo "ready" >"$logs/ready"

while :; do
  for name in "${!pids[@]}"; do
    if ! kill -0 "${pids[$name]}" 2>/dev/null; then
      echo "== $name exited; last lines of $logs/$name.log:"
      tail -30 "$logs/$name.log"
      exit 1
    fi
  done
  sleep 1 & wait $!
done
