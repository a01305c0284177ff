"""Small performance helpers shared by the reader and the screen (see bench/README.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large acyclic structure.

    A 200,000-row sheet becomes 200,000 lists; every 700 new container objects Python
    starts a collection, and the occasional full one walks every live object. Grids
    hold only lists and scalars (no reference cycles, so nothing is left for the
    collector to find): pausing it saved about 20% of the read (measured in
    bench/README.md). The previous state is restored, also when the caller had
    already disabled it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
