"""Numbers never change or vanish without a word (issue 12): every cell not read as its
declared type is a rejection or a warning naming the cell, and every figure an accepted
delivery leaves unknown is named in its receipt. Each case is a real generated file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from etl.core.problems import Problem
from etl.core.sources import get_source
from etl.intake.analyse import analyse
from etl.intake.receipt import Receipt, render_text
from tests.fixtures.catalogue import (
    GEMEENTEN,
    LIMITS,
    OPVANG_COLS,
    VT_COLS,
    VT_LETTER,
    WIJ_CASES,
    WIJ_COLS,
    _sheet,
    _writer,
    opvang_row,
    vo_sheets,
    vt_rows,
    vt_sheets,
    wij_sheets,
)

KIDS = "I"          # Excel column of aantal_kinderen in the WIJ fixture (WIJ_COLS)
assert WIJ_COLS.index("aantal_kinderen") == 8


def _file(tmp_path: Path, name: str, sheets) -> Path:
    path = tmp_path / name
    _writer(lambda: sheets)(path)
    return path


def _receipt(path: Path, bron: str):
    a = analyse(path, get_source(bron), LIMITS)
    r = Receipt(status="geaccepteerd" if a.accepted else "afgekeurd", bron=bron, bron_naam=get_source(bron).naam,
                bestand=path.name, ontvangen_op="2024-10-10T08:00:00+00:00", levering_id=f"{bron}-20241010-080000-abcdef12",
                sha256="0" * 64, periodes=a.periodes, aantallen=a.counts, problemen=a.problems)
    return a, render_text(r), r.to_json()


def _value(df: pd.DataFrame, gtype: str, code: str, ind: str) -> pd.Series:
    hit = df[(df.gebied_type == gtype) & (df.gebied_code == code) & (df.indicator == ind)]
    assert len(hit) == 1, (gtype, code, ind)
    return hit.iloc[0]


def _codes(a, severity: str) -> set[str]:
    return {p.code for p in a.problems if p.severity == severity}


# --- unknown-markers on counts --------------------------------------------------------------


def test_nvt_in_two_count_cells_is_accepted_and_the_receipt_names_both_cells(tmp_path):
    cases = [list(r) for r in WIJ_CASES]
    cases[0][8] = "n.v.t."         # Excel row 4
    cases[3][8] = "?"              # Excel row 7
    a, text, js = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases)), "wij")
    assert a.accepted
    named = [p for p in js["problemen"] if p["code"] == "tekst_gelezen_als_onbekend"]
    assert {c for p in named for c in p["cellen"]} == {f"{KIDS}4", f"{KIDS}7"}
    assert all(p["ernst"] == "waarschuwing" and p["tabblad"] == "Casussen" for p in named)
    assert {p["details"]["gevonden"] for p in named} == {"n.v.t.", "?"}
    assert f"'n.v.t.' in cel {KIDS}4" in text and f"'?' in cel {KIDS}7" in text
    assert "gelezen als een onbekend aantal (niet 0)" in text
    # What it makes unknown is said too: the children of the wijken and the city.
    assert _value(a.values, "gemeente", "GM0014", "kinderen_betrokken").status == "missing"
    unknown = next(p for p in a.problems if p.code == "cijfer_onbekend")
    assert "Kinderen betrokken (gemeente Groningen)" in unknown.message
    assert {f"{KIDS}4", f"{KIDS}7"} <= set(unknown.cells)


@pytest.mark.parametrize("marker", ["nvt", "-", "onbekend", "geen", "N.V.T.", "n.b."])
def test_every_unknown_marker_on_a_group_count_is_named(tmp_path, marker):
    groepen = [["2024-Q3", "Beijum", "Kikkergroep", 2, marker], ["2024-Q3", "Vinkhuizen", "Vingers in je oren", 1, 8]]
    a, text, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(groepen=groepen)), "wij")
    assert a.accepted
    p = next(p for p in a.problems if p.code == "tekst_gelezen_als_onbekend")
    assert p.sheet == "Groepsaanbod" and p.cells == ("E4",) and p.examples == (marker,)
    assert _value(a.values, "gemeente", "GM0014", "groepsaanbod_deelnemers").status == "missing"
    assert "Deelnemers groepsaanbod (gemeente Groningen)" in text


def test_a_rejected_file_lists_the_unknown_cells_next_to_the_error(tmp_path):
    cases = [list(r) for r in WIJ_CASES]
    cases[1][8] = -2                # Excel row 5: an error
    cases[2][8] = "n.v.t."          # Excel row 6: named too
    a, text, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases)), "wij")
    assert not a.accepted
    assert "negatief" in _codes(a, "fout")
    assert "tekst_gelezen_als_onbekend" in _codes(a, "waarschuwing")
    assert f"cel {KIDS}6" in text and f"Cel: {KIDS}5" in text
    assert "Voorbeeld van wat er staat: '-2'" in text            # singular, plain quotes
    assert "Vul het juiste aantal in (0 als er geen kinderen zijn, leeg als het onbekend is)." in text


def test_a_blank_count_cell_is_named_and_not_read_as_zero(tmp_path):
    rows = vt_rows()
    rows[2][VT_COLS.index("hermeldingen")] = None      # Westerkwartier, Excel row 6
    a, text, _ = _receipt(_file(tmp_path, "vt.xlsx", vt_sheets(_sheet("Meldingen", VT_COLS, rows))), "veilig_thuis")
    assert a.accepted
    p = next(p for p in a.problems if p.code == "leeg_gelezen_als_onbekend")
    assert p.cells == (f"{VT_LETTER['hermeldingen']}6",)
    assert _value(a.values, "regio", "regio", "hermeldingen").status == "missing"
    assert "Hermeldingen (regio)" in text


def test_nvt_in_a_column_that_may_be_empty_is_that_empty_value(tmp_path):
    cases = [list(r) for r in WIJ_CASES]
    cases[0][4] = "n.v.t."          # einddatum of an open case
    a, _, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases)), "wij")
    assert a.accepted and "tekst_gelezen_als_onbekend" not in _codes(a, "waarschuwing")


# --- <5 --------------------------------------------------------------------------------------


def test_lt5_on_case_rows_is_refused_with_an_explanation(tmp_path):
    cases = [list(r) for r in WIJ_CASES]
    cases[4][8] = "<5"              # Excel row 8
    a, text, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases)), "wij")
    assert not a.accepted
    p = next(p for p in a.problems if p.code == "niet_toegestaan_lt5")
    assert p.is_error and p.cells == (f"{KIDS}8",)
    assert "Op casusregels mag u niet zelf afschermen" in text


def test_lt5_on_an_aggregate_sheet_is_accepted_and_says_what_it_hides(tmp_path):
    rows = vt_rows()
    rows[6][VT_COLS.index("hermeldingen")] = "<5"        # Pekela, Excel row 10
    a, text, _ = _receipt(_file(tmp_path, "vt.xlsx", vt_sheets(_sheet("Meldingen", VT_COLS, rows))), "veilig_thuis")
    assert a.accepted
    p = next(p for p in a.problems if p.code == "afgeschermd_lt5")
    assert not p.is_error and p.cells == (f"{VT_LETTER['hermeldingen']}10",)
    assert "regiototaal" in p.message
    assert _value(a.values, "regio", "regio", "hermeldingen").status == "suppressed_by_partner"
    assert "afgeschermd ('x' of '<5'): " in text and "Hermeldingen (regio)" in text


# --- shelter rows for some municipalities only -------------------------------------------------


def test_shelter_file_with_seven_municipalities_sums_its_rows_and_names_the_three_absent(tmp_path):
    absent = {"Pekela", "Westerwolde", "Eemsdelta"}
    rows = [opvang_row("2024-Q3", n, i) for i, (n, _) in enumerate(GEMEENTEN) if n not in absent]
    sheets = vo_sheets()
    sheets[0] = _sheet("Opvang", OPVANG_COLS, rows)
    a, text, js = _receipt(_file(tmp_path, "vo.xlsx", sheets), "vrouwenopvang")
    assert a.accepted
    for col in OPVANG_COLS[2:]:
        total = _value(a.values, "regio", "regio", col)
        assert total.status == "ok" and total.waarde == sum(r[OPVANG_COLS.index(col)] for r in rows), col
    for name, code in GEMEENTEN:
        if name in absent:
            assert _value(a.values, "gemeente", code, "aanmeldingen").waarde == 0
    note = next(p for p in js["problemen"] if p["code"] == "gemeente_geen_regel_nul")
    assert set(note["details"]["gemeenten"]) == absent and note["ernst"] == "waarschuwing"
    assert "geen regel voor Eemsdelta, Pekela en Westerwolde: geteld als 0" in text
    assert "cijfer_onbekend" not in _codes(a, "waarschuwing")


def test_veilig_thuis_without_a_municipality_is_missing_and_said(tmp_path):
    rows = [r for r in vt_rows() if r[1] != "Westerwolde"]
    a, text, _ = _receipt(_file(tmp_path, "vt.xlsx", vt_sheets(_sheet("Meldingen", VT_COLS, rows))), "veilig_thuis")
    assert a.accepted
    assert _value(a.values, "regio", "regio", "meldingen_totaal").status == "missing"
    assert "ontbreekt een regel voor Westerwolde" in text and "Meldingen (regio)" in text


# --- nazorg with blanks -------------------------------------------------------------------------


def _closed_cases(nazorg: list[object]) -> list[list[object]]:
    import datetime as dt

    return [["2024-Q3", f"Q{i:04d}", "Beijum", dt.date(2024, 7, 1), dt.date(2024, 9, 1), "partnergeweld", "nee", nz, 1]
            for i, nz in enumerate(nazorg)]


def test_nazorg_share_is_over_known_values_with_the_unknown_beside_it(tmp_path):
    cases = _closed_cases(["ja", "ja", "nee", "nee", None, None, None, None, None, None])
    a, _, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases, groepen=[])), "wij")
    assert a.accepted
    for gtype, code in (("wijk", "Beijum"), ("gemeente", "GM0014")):
        assert _value(a.values, gtype, code, "casussen_afgesloten").waarde == 10
        assert _value(a.values, gtype, code, "nazorg_aantal").waarde == 2
        assert _value(a.values, gtype, code, "nazorg_bekend").waarde == 4
        assert _value(a.values, gtype, code, "nazorg_onbekend").waarde == 6
        assert _value(a.values, gtype, code, "nazorg_aandeel").waarde == 0.5


def test_workbook_nazorg_count_n_and_interval_come_from_the_stored_counts(tmp_path):
    """Large enough not to be shielded: 20 ja, 20 nee, 60 blank -> shown k 20, n 40 (not 50 of 100)."""
    from etl.core.catalogue import load_catalogue
    from etl.report import stats
    from etl.report.keyfigures import share_parts
    from etl.report.protect import protect_quarter

    cases = _closed_cases(["ja"] * 20 + ["nee"] * 20 + [None] * 60)
    a, _, _ = _receipt(_file(tmp_path, "wij.xlsx", wij_sheets(cases, groepen=[])), "wij")
    df = a.values.assign(bron="wij")
    cat = load_catalogue()
    view = protect_quarter(df, "2024Q3", cat)
    city = ("gemeente", "GM0014")
    assert view.visible("wij", *city, "nazorg_aandeel") == 0.5
    assert view.visible("wij", *city, "nazorg_aantal") == 20
    assert view.visible("wij", *city, "nazorg_bekend") == 40
    assert view.visible("wij", *city, "nazorg_onbekend") == 60
    k, n = share_parts(None, view, "wij", *city, cat.get("wij", "nazorg_aandeel"), "2024Q3")
    assert (k, n) == (20, 40)
    iv = stats.wilson_interval(k, n)
    assert iv.lower < 0.5 < iv.upper and iv.upper - iv.lower > stats.wilson_interval(50, 100).upper - stats.wilson_interval(50, 100).lower


# --- the guarantee: no accepted delivery makes a figure unknown without a word -------------------


@pytest.mark.parametrize("variant", ["nvt", "blank", "lt5", "absent_vt", "nazorg_blank"])
def test_every_unknown_figure_of_an_accepted_delivery_is_in_a_warning(tmp_path, variant):
    if variant in ("nvt", "blank", "nazorg_blank"):
        cases = [list(r) for r in WIJ_CASES]
        if variant == "nvt":
            cases[2][8] = "nvt"
        elif variant == "blank":
            cases[2][6] = None
        else:
            cases = _closed_cases([None, None, None])       # closed, nazorg never filled in
        path, bron = _file(tmp_path, "wij.xlsx", wij_sheets(cases)), "wij"
    else:
        rows = vt_rows()
        if variant == "lt5":
            rows[4][VT_COLS.index("adviezen")] = "<5"
        else:
            rows = rows[:-1]
        path, bron = _file(tmp_path, "vt.xlsx", vt_sheets(_sheet("Meldingen", VT_COLS, rows))), "veilig_thuis"
    a, _, _ = _receipt(path, bron)
    assert a.accepted
    named = {(u["periode"], u["gebied_type"], u["gebied_code"], u["indicator"])
             for p in a.problems if p.code == "cijfer_onbekend" for u in p.extra["onbekende_cijfers"]}
    closed = {(r.periode, r.gebied_type, r.gebied_code): r.waarde for r in a.values.itertuples()
              if r.indicator == "casussen_afgesloten"}
    for r in a.values.itertuples():
        if r.status == "ok":
            continue
        if r.indicator in ("duur_mediaan_dagen", "duur_p90_dagen", "nazorg_aandeel") and not closed.get((r.periode, r.gebied_type, r.gebied_code)):
            continue                 # no closed cases: nothing to know
        assert (r.periode, r.gebied_type, r.gebied_code, r.indicator) in named, r


# --- personal data: the full range ------------------------------------------------------------------


def test_personal_data_receipt_says_the_full_range_and_count(tmp_path):
    from etl.intake.screen import screen_grids

    grid: list[list[object]] = [["WIJ casussen"], [], WIJ_COLS + ["contact"]]
    grid += [["2024-Q3", f"P{i:05d}", "Beijum", None, None, "overig", "nee", None, 1, f"naam{i}@voorbeeld.nl"]
             for i in range(779)]
    problems = screen_grids({"Casussen": grid}, get_source("wij"), {"Casussen": 2})
    p = next(p for p in problems if p.column and p.column.startswith("J"))
    assert p.rows == tuple(range(4, 783))
    text = render_text(Receipt(status="afgekeurd", bron="wij", bron_naam="WIJ Groningen", bestand="x.xlsx",
                               ontvangen_op="2024-10-10T08:00:00+00:00", levering_id="wij-20241010-080000-abcdef12",
                               sha256="0" * 64, problemen=[p], persoonsgegevens=True))
    assert "in alle 779 regels, 4-782" in text
    assert "naam1@" not in text


def test_problem_rows_that_are_not_one_run_are_listed_with_their_count():
    from etl.intake.receipt import rows_nl

    assert rows_nl((7,)) == "regel 7"
    assert rows_nl((3, 7, 8, 9, 12)) == "regels 3, 7-9 en 12"
    assert rows_nl(tuple(range(4, 783))) == "in alle 779 regels, 4-782"
    assert rows_nl(tuple(range(2, 60, 2))).startswith("29 regels: 2, 4, 6")


def test_receipt_json_is_dutch_and_the_text_has_no_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_CONTACT_EMAIL", "hulp@monitor.example.nl")
    _, text, js = _receipt(_file(tmp_path, "vt.xlsx", vt_sheets()), "veilig_thuis")
    assert "Controlegetal" not in text and "SHA-256" not in text and "Kenmerk:" in text
    assert "hulp@monitor.example.nl" in text and js["contact"] == "hulp@monitor.example.nl"
    assert js["controlegetal_sha256"] == "0" * 64
    english = {"evaluated", "passed", "failed", "severity", "message", "fix", "sheet", "column", "rows", "cells",
               "examples", "extra", "sha256"}

    def keys(o):
        if isinstance(o, dict):
            for k, v in o.items():
                yield k
                yield from keys(v)
        elif isinstance(o, list):
            for v in o:
                yield from keys(v)

    assert not english & set(keys(js)), english & set(keys(js))
    json.dumps(js)


def test_problem_round_trips_through_its_dict():
    p = Problem("x", "waarschuwing", "m", cells=("A1",), rows=(1,), extra={"gevonden": "-"})
    assert Problem.from_dict(p.to_dict()) == p


# --- the sample deliveries are as messy as real ones, and the receipts say so ----------------------


def test_sample_ingest_names_the_messy_cells_and_stores_nazorg_unknown(ingested_samples, sample_set):
    from etl.store.dataset import load
    from etl.tools.samples import VO_ABSENT_GEMEENTEN, VO_ABSENT_QUARTERS

    dirs, outcomes = ingested_samples
    receipts = [json.loads(p.read_text(encoding="utf-8")) for p in dirs.outbox.rglob("*.ontvangstbewijs.json")]
    by_code: dict[str, list[dict]] = {}
    for r in receipts:
        assert r["status"] == "geaccepteerd"
        for p in r["problemen"]:
            by_code.setdefault(p["code"], []).append({**p, "periodes": r["periodes"]})
    # Absent shelter rows: named, per quarter, as counted 0.
    zero = by_code["gemeente_geen_regel_nul"]
    assert sorted(p["details"]["periode"] for p in zero) == sorted(f"{y}Q{q}" for y, q in VO_ABSENT_QUARTERS)
    assert all(set(p["details"]["gemeenten"]) == set(VO_ABSENT_GEMEENTEN) for p in zero)
    # "n.v.t." in Groepsaanbod: the cell named, and the city total it leaves unknown.
    nvt = by_code["tekst_gelezen_als_onbekend"]
    assert len(nvt) == 1 and nvt[0]["tabblad"] == "Groepsaanbod" and len(nvt[0]["cellen"]) == 1
    assert any("Deelnemers groepsaanbod (gemeente Groningen)" in p["melding"] for p in by_code["cijfer_onbekend"])
    # "<5" from Veilig Thuis every quarter: named with what it hides.
    assert len(by_code["afgeschermd_lt5"]) == 8
    # Nazorg: count, known and unknown in the dataset agree with the case rows.
    ds = load(None, dirs)
    cases = sample_set.truth["wij/Casussen"]
    for periode, q in cases.groupby("periode"):
        closed = q[q["einddatum"].notna()]         # the generator writes einddatum only for a case closed in the quarter
        city = ds[(ds.periode == periode) & (ds.bron == "wij") & (ds.gebied_code == "GM0014")].set_index("indicator")["waarde"]
        known = closed["nazorg"].notna()
        assert city["nazorg_onbekend"] == (~known).sum() > 0
        assert city["nazorg_bekend"] == known.sum()
        assert city["nazorg_aantal"] == closed.loc[known, "nazorg"].astype(bool).sum()
        assert city["nazorg_aandeel"] == pytest.approx(city["nazorg_aantal"] / city["nazorg_bekend"])
