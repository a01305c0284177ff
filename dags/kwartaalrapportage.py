"""Quarterly report: the combined dataset and the policy workbook for the quarter that just ended.

Runs at 06:00 on the 5th of January, April, July and October (Europe/Amsterdam), so
deliveries that arrive on the last days of the quarter are in. The reported quarter
is derived from the logical date (``etl.quarters.reported_quarter``), which makes
back-fills work: ``airflow backfill create --dag-id kwartaalrapportage --from-date
2024-01-01 --to-date 2025-01-10`` rebuilds 2023Q4 to 2024Q4. A manual run can name a
quarter in the ``kwartaal`` parameter. Every step is idempotent.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

QUARTERLY = CronTriggerTimetable("0 6 5 1,4,7,10 *", timezone="Europe/Amsterdam")


@dag(
    dag_id="kwartaalrapportage",
    schedule=QUARTERLY,
    start_date=pendulum.datetime(2023, 4, 1, tz="Europe/Amsterdam"),
    catchup=False,
    max_active_runs=1,
    params={"kwartaal": Param("", type="string", pattern=r"^(\d{4}Q[1-4])?$",
                              description="Leeg: het laatst afgesloten kwartaal. Anders bijvoorbeeld 2024Q3.")},
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=30),
    },
    tags=["monitor", "rapportage"],
    doc_md=__doc__,
)
def kwartaalrapportage():
    @task
    def bepaal_kwartaal() -> str:
        from etl.quarters import reported_quarter

        ctx = get_current_context()
        return ctx["params"].get("kwartaal") or reported_quarter(ctx["logical_date"])

    @task
    def verwerk_inbox() -> int:
        """Pick up last-minute deliveries before the dataset is built."""
        from etl.inbox import process_inbox

        return len(process_inbox())

    @task
    def bouw_dataset(kwartaal: str) -> dict:
        from etl.dataset import export_quarter

        return export_quarter(kwartaal)

    @task
    def laad_warehouse(kwartaal: str) -> int:
        from etl.warehouse import load_quarter_from_airflow

        return load_quarter_from_airflow(kwartaal)

    @task
    def bouw_werkmap(kwartaal: str) -> str:
        from etl.report import build_workbook

        return str(build_workbook(kwartaal))

    @task
    def meld_klaar(kwartaal: str, werkmap: str) -> int:
        from etl.notify import notify_report_ready

        return notify_report_ready(kwartaal, werkmap)

    @task
    def controleer_te_laat(kwartaal: str) -> list[str]:
        from etl.notify import notify_late_deliveries

        return notify_late_deliveries(kwartaal)

    kwartaal = bepaal_kwartaal()
    ingest = verwerk_inbox()
    dataset = bouw_dataset(kwartaal)
    ingest >> dataset
    werkmap = bouw_werkmap(kwartaal)
    dataset >> [laad_warehouse(kwartaal), werkmap]
    meld_klaar(kwartaal, werkmap)
    ingest >> controleer_te_laat(kwartaal)


kwartaalrapportage()
