"""Quarterly report: the combined dataset and the policy workbook for the quarter that just ended.

Runs at 06:00 on the 5th of January, April, July and October (Europe/Amsterdam), so
deliveries that arrive on the last days of the quarter are in. The reported quarter
is derived from the logical date (``etl.core.quarters.reported_quarter``), which makes
back-fills work: ``airflow backfill create --dag-id kwartaalrapportage --from-date
2024-01-01 --to-date 2025-01-10`` rebuilds 2023Q4 to 2024Q4. A manual run can name a
quarter in the ``kwartaal`` parameter. Every step is idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

log = logging.getLogger(__name__)

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
        from etl.core.quarters import reported_quarter

        ctx = get_current_context()
        gevraagd = ctx["params"].get("kwartaal")
        kwartaal = gevraagd or reported_quarter(ctx["logical_date"])
        log.info("rapportage over %s (%s)", kwartaal,
                 "parameter kwartaal" if gevraagd else f"afgeleid van logical date {ctx['logical_date']}")
        return kwartaal

    @task
    def verwerk_inbox() -> list[dict]:
        """Pick up last-minute deliveries before the dataset is built."""
        from etl.intake.inbox import process_inbox

        outcomes = [
            {"bron": o.bron, "bestand": o.bestand, "status": o.status, "levering_id": o.levering_id,
             "ontvangstbewijs": str(o.receipt), "fouten": list(o.problem_codes)}
            for o in process_inbox()
        ]
        for o in outcomes:
            log.info("bron %s: bestand %r -> %s, levering %s", o["bron"], o["bestand"], o["status"], o["levering_id"])
        log.info("inbox: %d bestand(en) verwerkt voor de rapportage", len(outcomes))
        from etl.tools.lineage import report_intake

        report_intake(outcomes)
        return outcomes

    @task
    def meld_afkeuringen(resultaten: list[dict]) -> int:
        """Files this run picked up instead of the inbox DAG get their rejection mail too."""
        from etl.notify.mail import notify_rejections

        return notify_rejections(resultaten)

    @task
    def bouw_dataset(kwartaal: str) -> dict:
        from etl.store.dataset import export_quarter

        resultaat = export_quarter(kwartaal)
        log.info("dataset %s: %d rijen uit %s -> %s", kwartaal, resultaat["rijen"],
                 ", ".join(resultaat["bronnen"]) or "geen bronnen", resultaat["pad"])
        from etl.core.config import DataDirs
        from etl.tools.lineage import report

        report([DataDirs.from_env().db_path], [resultaat["pad"]])
        return resultaat

    @task
    def laad_warehouse(kwartaal: str) -> int:
        from etl.store.warehouse import load_quarter_from_airflow

        return load_quarter_from_airflow(kwartaal)

    @task
    def bouw_werkmap(kwartaal: str) -> str:
        from etl.report import build_workbook

        werkmap = str(build_workbook(kwartaal))
        log.info("werkmap %s geschreven: %s", kwartaal, werkmap)
        from etl.core.config import DataDirs
        from etl.tools.lineage import report

        report([DataDirs.from_env().db_path], [werkmap])
        return werkmap

    @task
    def meld_klaar(kwartaal: str, werkmap: str) -> int:
        from etl.notify.mail import notify_report_ready

        return notify_report_ready(kwartaal, werkmap)

    @task
    def controleer_te_laat(kwartaal: str) -> list[str]:
        from etl.notify.mail import notify_late_deliveries

        return notify_late_deliveries(kwartaal)

    kwartaal = bepaal_kwartaal()
    ingest = verwerk_inbox()
    meld_afkeuringen(ingest)
    dataset = bouw_dataset(kwartaal)
    ingest >> dataset
    werkmap = bouw_werkmap(kwartaal)
    dataset >> [laad_warehouse(kwartaal), werkmap]
    meld_klaar(kwartaal, werkmap)
    ingest >> controleer_te_laat(kwartaal)


kwartaalrapportage()
