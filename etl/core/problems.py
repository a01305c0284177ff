"""Problems are data: every check yields ``Problem`` rows.

Receipts, the workbook's data-quality sheet, the marked-up partner copy and the tests
all read this one list, so a problem is described once, in Dutch, with where it is and
what to change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["fout", "waarschuwing"]


@dataclass(frozen=True)
class Problem:
    code: str                       # stable machine code, e.g. "som_klopt_niet"
    severity: Severity              # "fout" rejects the file, "waarschuwing" is reported only
    message: str                    # what was found, in Dutch
    fix: str = ""                   # what to change, in Dutch
    sheet: str | None = None        # sheet name as the partner wrote it
    column: str | None = None       # header as the partner wrote it (or the contract name)
    rows: tuple[int, ...] = ()      # Excel row numbers
    cells: tuple[str, ...] = ()     # Excel cell references (A1 style) where known
    examples: tuple[str, ...] = ()  # offending values, only where they are not personal data
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "fout"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = list(self.rows)
        d["cells"] = list(self.cells)
        d["examples"] = list(self.examples)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Problem:
        return cls(**{**d, "rows": tuple(d.get("rows", ())), "cells": tuple(d.get("cells", ())),
                      "examples": tuple(d.get("examples", ()))})


def error(code: str, message: str, fix: str = "", **kw) -> Problem:
    return Problem(code=code, severity="fout", message=message, fix=fix, **kw)


def warning(code: str, message: str, fix: str = "", **kw) -> Problem:
    return Problem(code=code, severity="waarschuwing", message=message, fix=fix, **kw)


def format_rows(rows: tuple[int, ...] | list[int], limit: int = 25) -> str:
    """``3, 7-9 en 12``: Excel row numbers the way a person reads them."""
    rows = sorted(set(rows))
    if not rows:
        return ""
    ranges: list[tuple[int, int]] = []
    for r in rows:
        if ranges and r == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], r)
        else:
            ranges.append((r, r))
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges]
    more = ""
    if len(parts) > limit:
        more = f" en nog {len(parts) - limit} andere"
        parts = parts[:limit]
    if len(parts) == 1:
        return parts[0] + more
    if more:
        return ", ".join(parts) + more
    return ", ".join(parts[:-1]) + " en " + parts[-1]
