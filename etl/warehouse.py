"""Warehouse load: a copy of the combined dataset in PostgreSQL for BI tools."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def load_quarter_from_airflow(periode: str) -> int:
    log.info("geen warehouse-verbinding geconfigureerd; %s niet geladen", periode)
    return 0
