"""Claims as rows (issue 15): the store decides which run takes a file, on both backends.

The partner lock already serialises runs per folder; the claim row is the second line, the
one that holds when a share's locking or directory cache is weaker than documented: of two
runs that see the same file, only one gets the row, and only the holder renames the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.conftest import drop
from tests.fixtures.catalogue import CASES, build_case

BY_NAME = {c.name: c for c in CASES}


@pytest.fixture
def vt_file(tmp_path) -> Path:
    return build_case(BY_NAME["baseline_veilig_thuis"], tmp_path / "case")


def test_one_open_claim_per_file_and_a_settled_one_frees_it(data_dirs):
    from etl.store.db import Store

    with Store.open(data_dirs) as a, Store.open(data_dirs) as b:           # two hosts' connections
        assert a.claim_file("veilig_thuis", "vt.xlsx", 1234, 5, "t1__vt.xlsx", "2024-10-01T08:00:00+00:00")
        assert not b.claim_file("veilig_thuis", "vt.xlsx", 1234, 5, "t2__vt.xlsx", "2024-10-01T08:00:01+00:00")
        # Another file, or the same name with other content (size/mtime): its own claim.
        assert b.claim_file("veilig_thuis", "vt.xlsx", 1299, 5, "t3__vt.xlsx", "2024-10-01T08:00:02+00:00")
        assert b.claim_file("wij/het-hogeland", "vt.xlsx", 1234, 5, "t4__vt.xlsx", "2024-10-01T08:00:03+00:00")
        a.settle_claim("veilig_thuis", "t1__vt.xlsx", "veilig_thuis-x")
        # Delivered again later, byte for byte and with the same mtime: a new claim.
        assert b.claim_file("veilig_thuis", "vt.xlsx", 1234, 5, "t5__vt.xlsx", "2024-10-02T08:00:00+00:00")
        assert [c["claimed_name"] for c in a.open_claims("veilig_thuis")] == ["t3__vt.xlsx", "t5__vt.xlsx"]
        done = a.claim("veilig_thuis", "t1__vt.xlsx")
        assert done["settled_at"] and done["levering_id"] == "veilig_thuis-x" and ":" in done["door"]


def test_a_file_another_run_holds_is_left_alone(data_dirs, vt_file):
    """Run A has the claim row but has not renamed yet; run B sees the file in the inbox and
    must not take it (without the row, B's rename would win and A would find nothing)."""
    from etl.intake.inbox import claim
    from etl.store.db import Store

    path = drop(data_dirs, "veilig_thuis", vt_file)
    st = path.stat()
    with Store.open(data_dirs) as a, Store.open(data_dirs) as b:
        assert a.claim_file("veilig_thuis", path.name, st.st_size, st.st_mtime_ns, "a__x.xlsx", "2024-10-01T08:00:00+00:00")
        assert claim(data_dirs, b, path, "veilig_thuis", dt.datetime.now(dt.UTC)) is None
        assert path.exists() and not any((data_dirs.processing / "veilig_thuis").glob("*"))
        assert [c["claimed_name"] for c in b.open_claims("veilig_thuis")] == ["a__x.xlsx"]


def test_a_run_killed_between_the_claim_row_and_the_rename_is_finished_by_the_next(data_dirs, vt_file):
    from etl.intake.inbox import process_inbox
    from etl.store.db import Store

    path = drop(data_dirs, "veilig_thuis", vt_file)
    st = path.stat()
    claimed_name = "20241001T080000000000Z__vt_2024Q3.xlsx"
    with Store.open(data_dirs) as store:          # what the killed run left: the row, not the rename
        assert store.claim_file("veilig_thuis", path.name, st.st_size, st.st_mtime_ns, claimed_name,
                                "2024-10-01T08:00:00+00:00")
    [o] = process_inbox(data_dirs, sources=("veilig_thuis",))
    assert o.status == "geaccepteerd" and not path.exists()
    with Store.open(data_dirs) as store:
        assert store.open_claims("veilig_thuis") == []
        c = store.claim("veilig_thuis", claimed_name)
        assert c["levering_id"] == o.levering_id and c["settled_at"]
        # The delivery's time is the claim's, as if the rename had happened then.
        assert store.delivery(o.levering_id).ontvangen_op.startswith("2024-10-01T08:00:00")
        assert len(store.rows("SELECT * FROM claims")) == 1
    assert process_inbox(data_dirs, sources=("veilig_thuis",)) == []       # nothing left to do


def test_a_claim_whose_file_is_gone_is_closed(data_dirs):
    from etl.intake.inbox import process_inbox
    from etl.store.db import Store

    with Store.open(data_dirs) as store:
        assert store.claim_file("veilig_thuis", "weg.xlsx", 10, 1, "t__weg.xlsx", "2024-10-01T08:00:00+00:00")
    assert process_inbox(data_dirs, sources=("veilig_thuis",)) == []
    with Store.open(data_dirs) as store:
        assert store.open_claims("veilig_thuis") == []
        assert store.claim("veilig_thuis", "t__weg.xlsx")["levering_id"] is None


def test_every_processed_file_has_one_settled_claim(data_dirs, vt_file):
    from etl.intake.inbox import process_inbox
    from etl.store.db import Store

    drop(data_dirs, "veilig_thuis", vt_file)
    drop(data_dirs, "veilig_thuis", vt_file, "kopie.xlsx")              # a duplicate under another name
    os.utime(data_dirs.inbox / "veilig_thuis" / "kopie.xlsx", (0, 0))
    outcomes = process_inbox(data_dirs, sources=("veilig_thuis",))
    assert sorted(o.status for o in outcomes) == ["dubbel", "geaccepteerd"]
    with Store.open(data_dirs) as store:
        claims = store.rows("SELECT inbox_name, levering_id, settled_at FROM claims ORDER BY inbox_name")
    assert [(c["inbox_name"], c["levering_id"]) for c in claims] == sorted(
        (o.bestand, o.levering_id) for o in outcomes)
    assert all(c["settled_at"] for c in claims)
