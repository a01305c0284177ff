"""Inbox: validate every partner file, accept or reject it, and write the receipt.

Runs every 30 seconds rather than on a file-arrival event. A schedule needs no
triggerer, survives restarts (whatever arrived while Airflow was down is picked up
on the next run), and with the stability window (MONITOR_STABLE_SECONDS, default 10)
a partner gets a receipt well within a minute: a run that finds a file still settling
waits for it (bounded) instead of leaving it to the next run. File triggers fire while a file is
still being copied, and event-driven runs have produced duplicate runs in Airflow 3
(field notes); the pipeline is idempotent and serialises per source either way.

One mapped task per partner, so one partner's broken file never holds up another's.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

from etl.core.config import SOURCES, DataDirs

log = logging.getLogger(__name__)

MONITOR_STORE = Asset("monitor_store", uri="file:///monitor/store/monitor.sqlite")
# Lineage (docs/provenance.md): the inbox folder as the static inlet; each run also reports
# the real files it read and wrote (etl.tools.lineage).
INBOX = Asset("monitor_inbox", uri=DataDirs.from_env().inbox.absolute().as_uri())


@dag(
    dag_id="inbox_verwerking",
    schedule=timedelta(seconds=30),
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    max_active_runs=1,
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
    @task(inlets=[INBOX], outlets=[MONITOR_STORE], map_index_template="{{ task.op_kwargs['bron'] }}")
    def verwerk_bron(bron: str) -> list[dict]:
        """Process the stable files of one partner's inbox folder.

        A file that is still settling (younger than the stability window) would wait for
        the next run, 30 s later; instead the task waits for it, bounded by the window
        plus a margin, so the receipt follows within seconds of the file becoming stable
        (issue 8: within 60 s; measured in tests/production/test_loopback.py).
        """
        import time

        from etl.core.config import DataDirs, stable_seconds
        from etl.intake.inbox import process_inbox, stable_files

        found = process_inbox(sources=(bron,))
        give_up = time.monotonic() + stable_seconds() + 5
        while stable_files(DataDirs.from_env(), bron, now=float("inf")) and time.monotonic() < give_up:
            time.sleep(1)
            found += process_inbox(sources=(bron,))
        outcomes = [
            {"bron": o.bron, "bestand": o.bestand, "status": o.status, "levering_id": o.levering_id,
             "ontvangstbewijs": str(o.receipt), "fouten": list(o.problem_codes)}
            for o in found
        ]
        # One line per file (which file, which delivery, what outcome), then a summary.
        for o in outcomes:
            log.info("bron %s: bestand %r -> %s, levering %s, ontvangstbewijs %s%s", bron, o["bestand"], o["status"],
                     o["levering_id"], o["ontvangstbewijs"], f", fouten {o['fouten']}" if o["fouten"] else "")
        counts = {s: sum(o["status"] == s for o in outcomes) for s in ("geaccepteerd", "afgekeurd", "dubbel")}
        log.info("bron %s: %d bestand(en) verwerkt %s", bron, len(outcomes), counts)
        from etl.tools.lineage import report_intake

        report_intake(outcomes)
        return outcomes

    @task(trigger_rule="all_done")
    def meld_afkeuringen(resultaten: list[list[dict]]) -> int:
        """Mail each partner whose file was rejected (the receipt attached, no personal data)."""
        from etl.notify.mail import notify_rejections

        # Index access: iterating a mapped XCom sequence probes one past the end and logs an error.
        per_bron = [resultaten[i] for i in range(len(resultaten))]
        return notify_rejections([o for outcomes in per_bron if outcomes for o in outcomes])

    meld_afkeuringen(verwerk_bron.expand(bron=list(SOURCES)))


inbox_verwerking()
