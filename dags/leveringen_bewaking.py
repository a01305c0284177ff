"""Daily lateness check: mail the data team when a partner's delivery for the last quarter is late.

The quarterly report runs on the 5th, before the partners' deadlines (21 or 28 days after
the quarter, `deadline_dagen` in include/sources.yaml), so lateness needs its own daily
look. Each lateness is mailed once (recorded in the audit log), so daily runs don't spam.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable


@dag(
    dag_id="leveringen_bewaking",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Europe/Amsterdam"),
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=10),
    },
    tags=["monitor", "bewaking"],
    doc_md=__doc__,
)
def leveringen_bewaking():
    @task
    def controleer_te_laat() -> list[str]:
        from etl.core.quarters import reported_quarter
        from etl.notify.mail import notify_late_deliveries

        return notify_late_deliveries(reported_quarter(get_current_context()["logical_date"]))

    controleer_te_laat()


leveringen_bewaking()
