"""Quarter arithmetic, in one place, because Airflow's intervals are not quarters.

A cron schedule in Airflow 3 is a ``CronTriggerTimetable``: the run on 5 April has a
logical date of 5 April and no data interval starting 1 January. The quarter a run
reports on is therefore derived from its logical date here, and unit-tested.
"""

from __future__ import annotations

import datetime as dt
import re

QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(q: str) -> tuple[int, int]:
    m = QUARTER_RE.match(q)
    if not m:
        raise ValueError(f"not a quarter like 2024Q3: {q!r}")
    return int(m.group(1)), int(m.group(2))


def quarter_of(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def quarter_start(q: str) -> dt.date:
    y, n = parse_quarter(q)
    return dt.date(y, 3 * (n - 1) + 1, 1)


def quarter_end(q: str) -> dt.date:
    """Last day of the quarter (inclusive)."""
    return quarter_start(shift(q, 1)) - dt.timedelta(days=1)


def days_in_quarter(q: str) -> int:
    return (quarter_end(q) - quarter_start(q)).days + 1


def shift(q: str, n: int) -> str:
    y, k = parse_quarter(q)
    idx = y * 4 + (k - 1) + n
    return f"{idx // 4}Q{idx % 4 + 1}"


def previous_quarter(q: str) -> str:
    return shift(q, -1)


def quarter_range(first: str, last: str) -> list[str]:
    out, q = [], first
    while parse_quarter(q) <= parse_quarter(last):
        out.append(q)
        q = shift(q, 1)
    return out


def reported_quarter(logical_date: dt.date | dt.datetime) -> str:
    """The quarter a quarterly run reports on: the last quarter that ended before it.

    The report runs early in the month after a quarter ends (5 April reports on Q1);
    a back-fill run for 5 January 2024 reports on 2023Q4.
    """
    d = logical_date.date() if isinstance(logical_date, dt.datetime) else logical_date
    return previous_quarter(quarter_of(d))


def label_nl(q: str) -> str:
    y, n = parse_quarter(q)
    return f"{n}e kwartaal {y}"
