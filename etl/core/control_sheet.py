"""The Controle sheet the monitor adds to a marked-up copy, known to writer and reader.

The marked-up copy (etl.intake.markup) writes it; the reader (etl.intake.read) skips it
when a partner drops the corrected copy back in the inbox. Both import this small
vocabulary instead of each other.
"""

from __future__ import annotations

CONTROL_SHEET = "Controle"
CONTROL_TITLE = "Controle door de Monitor huiselijk geweld en kindermishandeling regio Groningen"


def is_control_sheet(grid_or_first_cell: object) -> bool:
    """True for a Controle sheet we wrote (its A1 is our title): the reader skips it on a re-drop."""
    v = grid_or_first_cell
    if isinstance(v, list | tuple):
        v = v[0] if v else None
        if isinstance(v, list | tuple):
            v = v[0] if v else None
    return isinstance(v, str) and v.strip() == CONTROL_TITLE
