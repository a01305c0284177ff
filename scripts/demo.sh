#!/usr/bin/env bash
# The main job on the embedded default: Airflow on SQLite, data under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/airflow-env.sh
# The sample files are written atomically (temp name + rename), so the demo need not
# wait for the stability window that protects real partner drops.
export MONITOR_STABLE_SECONDS=0
PATH="$PWD/.venv/bin:$PATH"

echo "== Airflow metadata database (SQLite in $AIRFLOW_HOME)"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }

echo "== Sample partner files -> $MONITOR_DATA_DIR/inbox"
python -m etl samples --out "$MONITOR_DATA_DIR/inbox" | sed 's/^/   /'

echo "== DAG inbox_verwerking (validate, accept/reject, receipts)"
airflow dags test inbox_verwerking >"$AIRFLOW_HOME/inbox-run.log" 2>&1 || { tail -50 "$AIRFLOW_HOME/inbox-run.log"; exit 1; }

echo "== DAG kwartaalrapportage for 2024Q4 (logical date 5 January 2025)"
airflow dags test kwartaalrapportage 2025-01-05T06:00:00+01:00 >"$AIRFLOW_HOME/report-run.log" 2>&1 || { tail -50 "$AIRFLOW_HOME/report-run.log"; exit 1; }

python - <<'PY'
import os, pathlib
root = pathlib.Path(os.environ["MONITOR_DATA_DIR"])
receipts = sorted(root.glob("outbox/**/*.ontvangstbewijs.txt"))
print(f"== {len(receipts)} receipts in {root / 'outbox'}")
for state in ("archive", "quarantine", "quarantine-restricted", "inbox", "processing"):
    n = sum(1 for p in (root / state).rglob("*") if p.is_file() and not p.name.startswith("."))
    print(f"   {state:22} {n} files")
wb = root / "reports" / "monitor_2024Q4.xlsx"
if not wb.exists():
    raise SystemExit(f"workbook missing: {wb}")
print(f"== Quarterly workbook: {wb}")
PY
