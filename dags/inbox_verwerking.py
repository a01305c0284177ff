"""Inbox: validate every partner file, accept or reject it, and write the receipt.

Runs every ``MONITOR_INBOX_INTERVAL_SECONDS`` (30 when unset, 10 in the production stack)
rather than on a file-arrival event. A schedule needs no
triggerer, survives restarts (whatever arrived while Airflow was down is picked up
on the next run), and with the stability window (MONITOR_STABLE_SECONDS, default 10)
a partner gets a receipt well within a minute: a run that finds a file still settling
waits for it (bounded) instead of leaving it to the next run. File triggers fire while a file is
still being copied, and event-driven runs have produced duplicate runs in Airflow 3
(field notes); the pipeline is idempotent and serialises per source either way.

One mapped task per partner, so one partner's broken file never holds up another's.

Runs do not wait for each other (``max_active_runs=6``): a worker killed mid-task leaves
its task "running" until the scheduler's heartbeat timeout, and with one active run at a
time every partner waited for that (issue 11: 363 s). Concurrent runs are safe because
each partner's folder is processed under a file lock (released by the kernel when the
killed process dies) and the pipeline is idempotent; the next run resumes the killed
file from processing/. Measured in tests/production/test_worker_kill.py.

The ``monitor_store`` asset gets an event only when a run settled a file (issue 11: an
event for every empty run, ~8,600 a day): the task that holds the outlet skips
itself otherwise (a skipped task emits no asset event); ``meld_afkeuringen`` holds it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

from etl.core.config import SOURCES, DataDirs, inbox_interval_seconds

log = logging.getLogger(__name__)

# A killed worker strands at most its concurrency (2 in compose) runs until the heartbeat
# timeout (90 s) or, for tasks it had reserved, the queued timeout; 6 leaves room for the
# runs that resume the killed file and serve the other partners meanwhile.
MAX_ACTIVE_RUNS = 6
MONITOR_STORE = Asset("monitor_store", uri="file:///monitor/store/monitor.sqlite")
# Lineage (docs/provenance.md): the inbox folder as the static inlet; each run also reports
# the real files it read and wrote (etl.tools.lineage).
INBOX = Asset("monitor_inbox", uri=DataDirs.from_env().inbox.absolute().as_uri())


@dag(
    dag_id="inbox_verwerking",
    schedule=timedelta(seconds=inbox_interval_seconds()),      # MONITOR_INBOX_INTERVAL_SECONDS
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    dagrun_timeout=timedelta(minutes=30),
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=15),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=20),
    },
    tags=["monitor", "inbox"],
    doc_md=__doc__,
)
def inbox_verwerking():
    @task(inlets=[INBOX], map_index_template="{{ task.op_kwargs['bron'] }}")
    def verwerk_bron(bron: str) -> list[dict]:
        """Process the stable files of one partner's inbox folder (see etl.intake.poll)."""
        from etl.intake.poll import poll_source
        from etl.tools.lineage import report_intake

        outcomes = poll_source(bron)
        report_intake(outcomes)
        return outcomes

    @task(outlets=[MONITOR_STORE], trigger_rule="all_done")
    def meld_afkeuringen(resultaten: list[list[dict]]) -> dict:
        """Mail each partner whose file was rejected (the receipt attached, no personal data).

        Also the only holder of the ``monitor_store`` outlet: when the run settled no file
        the task skips itself, and a skipped task emits no asset event. One task, not two,
        so a run costs the workers as few task start-ups as possible.
        """
        from airflow.sdk.exceptions import AirflowSkipException

        from etl.intake.poll import status_counts
        from etl.notify.mail import notify_rejections

        # Index access: iterating a mapped XCom sequence probes one past the end and logs an error.
        per_bron = [resultaten[i] for i in range(len(resultaten))]
        outcomes = [o for outcomes in per_bron if outcomes for o in outcomes]
        if not outcomes:
            raise AirflowSkipException("geen bestanden verwerkt: de store is niet veranderd, geen asset-event")
        mails = notify_rejections(outcomes)
        counts = status_counts(outcomes)
        log.info("store gewijzigd: %d bestand(en) %s; %d afkeuringsmail(s)", len(outcomes), counts, mails)
        return {**counts, "mails": mails}

    meld_afkeuringen(verwerk_bron.expand(bron=list(SOURCES)))


inbox_verwerking()
