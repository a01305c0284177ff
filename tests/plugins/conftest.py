"""A store with every state of the Leveringen matrix, built by ingesting generated files.

Sample deliveries (etl.tools.samples) for 2024Q3-2024Q4, minus three, then files from the
catalogue (tests/fixtures/catalogue.py), in two passes so that the order is known:

=============  ==========================================  =============================
partner        2024Q3                                      2024Q4
=============  ==========================================  =============================
veilig_thuis   sample, then "extra_columns" -> vervangen    sample -> aangenomen
wij            "formula_like_text" -> met waarschuwingen    nothing -> te laat
vrouwenopvang  "infinity_and_nan_cells" -> afgekeurd        sample -> aangenomen
=============  ==========================================  =============================

plus "pii_header_naam" (wij, personal data: restricted quarantine) and "zero_bytes"
(veilig_thuis, rejected without a quarter).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.catalogue import CASES, PLANTED, build_case


def case(name: str):
    return next(c for c in CASES if c.name == name)


@dataclass
class StateStore:
    dirs: object
    outcomes: dict[str, object]      # catalogue case name or sample file name -> Outcome
    planted: tuple[str, ...]         # personal data planted in the restricted file


def _drop(dirs, bron: str, path: Path) -> None:
    from etl.core.organisations import original

    target = dirs.inbox / original(bron).folder / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)
    os.utime(target, (0, 0))


@pytest.fixture(scope="session")
def state_store(tmp_path_factory) -> StateStore:
    from etl.core.config import DataDirs
    from etl.intake.inbox import process_inbox
    from etl.tools.samples import generate_samples
    from tests.fixtures.catalogue import LIMITS

    root = tmp_path_factory.mktemp("leveringen")
    samples = generate_samples(root / "samples", quarters=["2024Q3", "2024Q4"])
    dirs = DataDirs(root / "data").ensure()
    skip = {("wij", "2024Q3"), ("wij", "2024Q4"), ("vrouwenopvang", "2024Q3")}
    outcomes: dict[str, object] = {}
    for f in samples.files:
        bron = samples.bron(f)
        quarter = re.sub(r"[^0-9Q]", "", f.stem)          # VeiligThuis_Groningen_2024-Q3 -> 2024Q3
        if (bron, quarter) not in skip:
            _drop(dirs, bron, f)
    for o in process_inbox(dirs):
        outcomes[o.bestand] = o
    assert len(outcomes) == 3, sorted(outcomes)
    files = root / "catalogue"
    for name in ("extra_columns", "formula_like_text", "infinity_and_nan_cells", "pii_header_naam", "zero_bytes"):
        c = case(name)
        _drop(dirs, c.source, build_case(c, files / name))
    for o in process_inbox(dirs, limits=LIMITS):
        outcomes[next(c.name for c in CASES if c.filename == o.bestand)] = o
    return StateStore(dirs, outcomes, tuple(PLANTED.get("pii_header_naam", ())))
