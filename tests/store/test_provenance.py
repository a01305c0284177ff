"""Every stored value says where it came from, and the file at that place says the same.

The cell check reads the archived partner file with openpyxl, not with the intake's
reader (python-calamine + etl.intake.parse), and converts the cell with a few lines of
its own: a reader bug that put a value at the wrong address cannot hide behind itself.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from etl.core.sources import get_source
from etl.intake.analyse import analyse
from etl.intake.provenance import parse_rows, recompute
from etl.intake.read import load_grids, read_workbook
from etl.intake.safety import check_workbook
from etl.store.db import Store
from etl.store.provenance import deliveries_with_values, delivery_records, record_of
from tests.conftest import drop
from tests.fixtures import catalogue as cat

_SMALL = re.compile(r"^<\s*5$")


def _independent(raw: object) -> float | str | None:
    """A cell as a person reads it: a number, ``"<5"``, or None for empty / n.v.t."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise AssertionError(f"boolean in a count cell: {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip()
    if not text or text.lower() in {"n.v.t.", "nvt", "-", "onbekend"}:
        return None
    if _SMALL.match(text):
        return "<5"
    digits = text.replace(".", "").replace("\u00a0", "").replace(" ", "")
    if digits.isdigit():
        return float(digits)
    return float(text.replace(",", "."))


def _check_cells(path: Path, records: list[dict]) -> int:
    """Every ``cel`` record points at a cell that holds the stored value; returns how many were checked."""
    wb = load_workbook(path, data_only=True)       # not read-only: a wrong <dimension> tag must not matter
    checked = 0
    for v in records:
        rec = v["herkomst"]
        assert rec is not None, v
        if rec["soort"] == "geen_regel":     # absent municipality of a source where absent means none
            assert v["waarde"] == 0 and v["gebied_type"] == "gemeente", v
            checked += 1
            continue
        if rec["soort"] != "cel":
            continue
        assert rec["cel"], v
        got = _independent(wb[rec["tabblad"]][rec["cel"]].value)
        if v["status"] == "ok":
            assert got == v["waarde"], (path.name, rec, got, v["waarde"])
        elif v["status"] == "suppressed_by_partner":
            assert got == "<5", (path.name, rec, got)
        else:
            assert got is None, (path.name, rec, got)
        checked += 1
    return checked


def _frames(path: Path, bron: str) -> dict[str, object]:
    grids = load_grids(path)
    read = read_workbook(grids, get_source(bron), check_workbook(path))
    return {sd.found_name: sd.frame for sd in read.sheets.values()}


def _check_derived(store: Store, path: Path, bron: str, records: list[dict]) -> int:
    """``regels`` records reproduce their value from the recorded rows; sums and ratios from their parts."""
    frames = _frames(path, bron)
    by_key = {(v["periode"], v["gebied_type"], v["gebied_code"], v["indicator"]): v for v in records}
    checked = 0
    for v in records:
        rec = v["herkomst"]
        if rec["soort"] == "regels":
            frame = frames[rec["tabblad"]]
            rows = parse_rows(rec["rijen"])
            assert len(rows) == rec["aantal_rijen"]
            assert set(rows) <= set(frame.index), rec
            assert (frame.loc[rows, "periode"] == v["periode"]).all(), rec
            again = recompute(rec, frame)
            if v["status"] == "ok":
                assert again == pytest.approx(v["waarde"]), (v, rec, again)
            checked += 1
        elif rec["soort"] == "som" and v["status"] == "ok":
            parts = [by_key[(v["periode"], *k)] for k in rec["delen"]]
            assert not rec["ontbrekend"]
            assert math.fsum(p["waarde"] for p in parts) == v["waarde"]
            assert all(p["herkomst"]["soort"] in ("cel", "geen_regel") for p in parts)   # geen_regel: absent, 0
            checked += 1
        elif rec["soort"] == "verhouding" and v["status"] == "ok":
            num = by_key[(v["periode"], *rec["teller"])]
            den = by_key[(v["periode"], *rec["noemer"])]
            assert num["waarde"] / (den["waarde"] * rec.get("factor_noemer", 1)) == pytest.approx(v["waarde"])
            checked += 1
        else:
            assert rec["soort"] in ("cel", "som", "verhouding", "geen_regel"), rec     # never "onbekend"
    return checked


def test_every_sample_value_points_at_its_cell_or_rows(ingested_samples):
    dirs, _ = ingested_samples
    cells = derived = 0
    with Store.open(dirs) as store:
        deliveries = deliveries_with_values(store)
        assert len(deliveries) == 24
        for d in deliveries:
            records = delivery_records(store, d["levering_id"])
            path = dirs.root / d["opgeslagen_als"]
            cells += _check_cells(path, records)
            derived += _check_derived(store, path, d["bron"], records)
    assert cells > 1000 and derived > 500, (cells, derived)


def _messy_vt(path: Path) -> None:
    """Title rows above a header on row 6, aliases in a shuffled order, a Totaal row, a note."""
    data = [[r[cat.VT_COLS.index(c)] for c, _ in cat.SHUFFLED] for r in cat.vt_rows()]
    # The label must come before the first number (etl.intake.read._is_total_row): first column.
    totals = ["Totaal" if i == 0 else None if c in ("periode", "gemeente") else sum(row[i] for row in data)
              for i, (c, _) in enumerate(cat.SHUFFLED)]
    rows, merges = cat._table([h for _, h in cat.SHUFFLED], data, title="Veilig Thuis — meldingen", header_row=6,
                              tail=[totals, [], ["Bron: registratie Veilig Thuis"]])
    rows[2] = ["Aangeleverd door team Informatie"]
    meldingen = cat._Sheet("MELDINGEN ", rows, merges=merges)
    path.write_bytes(cat._workbook_bytes(cat.vt_sheets(meldingen)))


def test_messy_file_cells_are_exact(tmp_path):
    path = tmp_path / "VeiligThuis_rommelig_2024-Q3.xlsx"
    _messy_vt(path)
    analysis = analyse(path, get_source("veilig_thuis"), cat.LIMITS)
    assert analysis.accepted, [p.code for p in analysis.problems]
    records = [dict(r._asdict()) for r in analysis.values.itertuples(index=False)]
    assert _check_cells(path, records) == 10 * 13 + 3
    first = next(r for r in records if r["gebied_code"] == "GM0014" and r["indicator"] == "meldingen_totaal")
    col = cat.SHUFFLED.index(("meldingen_totaal", "Aantal  meldingen:")) + 1
    assert first["herkomst"] == {"soort": "cel", "tabblad": "MELDINGEN ", "cel": f"{chr(64 + col)}7",
                                 "kolom": "meldingen_totaal"}
    total = next(r for r in records if r["gebied_type"] == "regio" and r["indicator"] == "meldingen_totaal")
    assert total["herkomst"]["soort"] == "som" and len(total["herkomst"]["delen"]) == 10
    # The partner's own Totaal row (Excel row 17) is checked and dropped: no value points at it.
    assert not any(r["herkomst"].get("cel", "").endswith("17") for r in records if r["herkomst"]["soort"] == "cel")


def test_messy_wij_file_rows_reproduce(tmp_path):
    path = tmp_path / "wij_2024Q3.xlsx"
    next(c for c in cat.CASES if c.name == "dates_excel_and_text").build(path)
    analysis = analyse(path, get_source("wij"), cat.LIMITS)
    assert analysis.accepted
    records = [dict(r._asdict()) for r in analysis.values.itertuples(index=False)]
    frames = {sd.found_name: sd.frame for sd in analysis.read.sheets.values()}
    vink = next(r for r in records if r["gebied_code"] == "Vinkhuizen" and r["indicator"] == "casussen_afgesloten")
    assert vink["herkomst"]["regel"] == "periode = 2024Q3, wijk = Vinkhuizen, einddatum in 2024Q3, aantal regels"
    assert parse_rows(vink["herkomst"]["rijen"]) == [6]          # title, blank, header on 3: third case is row 6
    for r in records:
        if r["herkomst"]["soort"] == "regels" and r["status"] == "ok":
            assert recompute(r["herkomst"], frames[r["herkomst"]["tabblad"]]) == pytest.approx(r["waarde"])


def test_no_record_holds_personal_data_or_cell_content(tmp_path):
    """Records hold addresses, row numbers, column names and reference values only."""
    path = tmp_path / "wij_pseudoniemen.xlsx"
    case = next(c for c in cat.CASES if c.name == "pseudonyms_that_look_like_identifiers")
    case.build(path)
    analysis = analyse(path, get_source("wij"), cat.LIMITS)
    assert analysis.accepted
    text = json.dumps([r for r in analysis.values["herkomst"]], ensure_ascii=False)
    wb = load_workbook(path, data_only=True)
    ids = {str(row[1]) for row in wb["Casussen"].iter_rows(min_row=4, values_only=True) if row[1]}
    assert ids and not any(i in text for i in ids)
    for rec in analysis.values["herkomst"]:
        assert set(rec) <= {"soort", "tabblad", "cel", "kolom", "regel", "bewerking", "letter", "rijen", "aantal_rijen",
                            "delen", "ontbrekend", "teller", "noemer", "factor_noemer"}


def test_superseded_delivery_keeps_its_provenance_and_old_stores_migrate(data_dirs, tmp_path):
    from etl.intake.inbox import process_inbox

    first, second = tmp_path / "vt_2024Q3.xlsx", tmp_path / "vt_2024Q3_v2.xlsx"
    cat._writer(cat.vt_sheets)(first)
    _messy_vt(second)
    drop(data_dirs, "veilig_thuis", first)
    (o1,) = process_inbox(data_dirs)
    drop(data_dirs, "veilig_thuis", second)
    (o2,) = process_inbox(data_dirs)
    assert o1.status == o2.status == "geaccepteerd"
    with Store.open(data_dirs) as store:
        old = record_of(store, o1.levering_id, "2024Q3", "gemeente", "GM0014", "meldingen_totaal")
        new = record_of(store, o2.levering_id, "2024Q3", "gemeente", "GM0014", "meldingen_totaal")
    assert old["cel"] == "D4" and old["tabblad"] == "Meldingen"
    assert new["tabblad"] == "MELDINGEN " and new["cel"].endswith("7")

    # A store made before provenance existed: no value_provenance table. Opening it adds one.
    with Store.open(data_dirs) as store:
        store.conn.execute(sa.text("DROP TABLE value_provenance"))
    with Store.open(data_dirs) as store:
        assert record_of(store, o2.levering_id, "2024Q3", "gemeente", "GM0014", "meldingen_totaal") is None
        assert delivery_records(store, o2.levering_id)[0]["herkomst"] is None


def test_receipt_json_lists_what_was_read_from_where(ingested_samples):
    dirs, outcomes = ingested_samples
    receipts = {json.loads(p.read_text(encoding="utf-8"))["bestand"]: json.loads(p.read_text(encoding="utf-8"))
                for p in dirs.outbox.rglob("*.ontvangstbewijs.json")}
    vt = receipts["VeiligThuis_Groningen_2024-Q4.xlsx"]["herkomst"]
    meldingen = next(s for s in vt if s["tabblad"] == "Meldingen")
    assert meldingen["cellen"]["meldingen_totaal"] == "D4:D13"
    assert "regels" not in meldingen
    wij = next(s for s in receipts["WIJ_casussen_2024Q4.xlsx"]["herkomst"] if s["tabblad"] == "Casussen")
    assert "cellen" not in wij and parse_rows(wij["regels"])[0] == 4
    # Addresses and counts only: no cell content of the partner file.
    wb = load_workbook(next(dirs.archive.rglob("*WIJ_casussen_2024Q4.xlsx")), read_only=True)
    ids = {str(r[1]) for r in wb["Casussen"].iter_rows(min_row=4, values_only=True) if r[1]}
    assert ids and not any(i in json.dumps(wij) for i in ids)
