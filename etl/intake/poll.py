"""One partner's turn at the inbox, as the inbox DAG's mapped task runs it.

Lives here, not in the DAG file, so that the DAG only wires tasks and the loop is
testable without a scheduler. A file that is still settling (younger than the stability
window) would wait for the next run, 30 s later; instead the turn waits for it, bounded by
the window plus a margin, so the receipt follows within seconds of the file becoming
stable (issue 8: within 60 s; measured in tests/production/test_loopback.py).
"""

from __future__ import annotations

import logging
import time

from etl.core.config import DataDirs, stable_seconds
from etl.core.status import DeliveryStatus
from etl.intake.inbox import Outcome, partner_folders, process_inbox, waiting_in

log = logging.getLogger(__name__)


def outcome_record(o: Outcome, dirs: DataDirs) -> dict:
    """What a task hands on (XCom): small, JSON, no cell values. Paths are relative to the
    data folder, so a task on another host (mounting it elsewhere) finds the same file."""
    return {"bron": o.bron, "organisatie": o.organisatie, "bestand": o.bestand, "status": str(o.status),
            "levering_id": o.levering_id, "ontvangstbewijs": relative(o.receipt, dirs), "fouten": list(o.problem_codes)}


def relative(path, dirs: DataDirs) -> str:
    try:
        return str(path.resolve().relative_to(dirs.root.resolve()))
    except ValueError:
        return str(path)


def _settling(dirs: DataDirs, bron: str) -> bool:
    return any(waiting_in(dirs, org.folder) for org in partner_folders(bron))


def status_counts(outcomes: list[dict]) -> dict[str, int]:
    return {s.value: sum(o["status"] == s for o in outcomes) for s in DeliveryStatus}


def poll_source(bron: str, dirs: DataDirs | None = None) -> list[dict]:
    """Process the stable files of one partner's folder, waiting (bounded) for settling ones."""
    dirs = dirs or DataDirs.from_env()
    found = process_inbox(dirs, sources=(bron,))
    give_up = time.monotonic() + stable_seconds() + 5
    while _settling(dirs, bron) and time.monotonic() < give_up:
        time.sleep(1)
        found += process_inbox(dirs, sources=(bron,))
    outcomes = [outcome_record(o, dirs) for o in found]
    # One line per file (which file, which delivery, what outcome), then a summary.
    for o in outcomes:
        log.info("bron %s: bestand %r -> %s, levering %s, ontvangstbewijs %s%s", bron, o["bestand"], o["status"],
                 o["levering_id"], o["ontvangstbewijs"], f", fouten {o['fouten']}" if o["fouten"] else "")
    log.info("bron %s: %d bestand(en) verwerkt %s", bron, len(outcomes), status_counts(outcomes))
    return outcomes
