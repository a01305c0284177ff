"""Celery config for the workers: Great Expectations imported in each worker child, before any task.

Set by ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=etl.tools.celery_preload.CELERY_CONFIG``
(docker-compose.yaml, tests/production/topology.py). The executor also imports this module
in the scheduler; only a signal handler is connected there, so the scheduler does not
import GX. In each worker child (``worker_process_init``) GX is imported and its context
built once; Airflow 3 forks the task process from that child, so the inbox task starts
with GX already in memory. Measured on the loopback stack (bench/README.md, latency): the
inbox task instance p50 0.5 s with it, 4.3 s without. Costs each worker child GX's memory
(shared with the tasks it forks) and a few seconds at worker start.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_process_init

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    # Celery terminates a pool child that has not reported "up" within 4 s; importing GX
    # takes 2 s on an idle machine and several times that under load.
    "worker_proc_alive_timeout": 120.0,
}


@worker_process_init.connect
def _preload_great_expectations(**_: object) -> None:
    from etl.core.config import SOURCES
    from etl.intake.validate import preload

    preload(SOURCES)
