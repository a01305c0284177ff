"""Bench-only Celery config: Great Expectations imported in each worker child, before any task.

Proposed for the stack (the owner of dags/ and docker-compose.yaml decides):
``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=bench.celery_preload.CELERY_CONFIG``. The
executor also imports this module in the scheduler; only a signal handler is connected
there, so the scheduler does not import GX. In each worker child (``worker_process_init``)
GX is imported and its context built once; Airflow 3 forks the task process from that
child, so the inbox task starts with GX already in memory (~3-6 s cpu saved per task
on this machine). Not measured on the loopback stack yet (see bench/README.md).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_process_init

CELERY_CONFIG = dict(DEFAULT_CELERY_CONFIG)


@worker_process_init.connect
def _preload_great_expectations(**_: object) -> None:
    from etl.intake.validate import preload

    preload(("veilig_thuis", "wij", "vrouwenopvang"))
