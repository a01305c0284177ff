"""The marked-up copy: the partner's own workbook back, every problem marked where it is.

Every file of the fixture catalogue goes through the real inbox (``process_inbox``);
the copy is then opened with openpyxl and checked against the receipt and the
catalogue: fill and comment on exactly the expected cells, the ``Controle`` sheet
first with working links, every value and formula of the partner unchanged, no copy
for personal data or unreadable files. LibreOffice renders the copies; fixing the
marked cells in the copy and dropping it again makes it pass.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from etl.core.problems import error, warning
from etl.core.xlsx_safe import formula_cells
from etl.intake import markup
from etl.intake.markup import (
    AUTHOR,
    CONTROL_TITLE,
    ERROR_RGB,
    MAX_CELLS_PER_PROBLEM,
    NO_COPY_CODES,
    WARNING_RGB,
)
from etl.intake.read import load_grids
from etl.intake.safety import check_workbook
from tests.conftest import drop, folder
from tests.fixtures.catalogue import CASES, LIMITS, Case, build_case, vt_values

BY_NAME = {c.name: c for c in CASES}
FIRST_ROW = 8                 # first problem row on the Controle sheet (header on row 7)


def expects_copy(case: Case) -> bool:
    """Rejected or accepted with warnings, minus personal data and files that are no readable .xlsx."""
    if case.personal_data or case.codes & NO_COPY_CODES:
        return False
    return case.status == "afgekeurd" or bool(case.codes)


COPY_CASES = [c for c in CASES if expects_copy(c)]


# --------------------------------------------------------------------------- helpers

def _process(case: Case, dirs, tmp_path: Path, path: Path | None = None):
    from etl.intake.inbox import process_inbox

    src = path or build_case(case, tmp_path / "built")
    drop(dirs, case.source, src, case.filename)
    outcomes = process_inbox(dirs, limits=LIMITS)
    assert len(outcomes) == 1, outcomes
    js_path = outcomes[0].receipt.with_suffix(".json")
    return src, outcomes[0], json.loads(js_path.read_text(encoding="utf-8"))


def _load(path: Path):
    return load_workbook(path, data_only=False, rich_text=True)


def _rgb(cell) -> str | None:
    f = cell.fill
    return f.fgColor.rgb if f is not None and f.fill_type == "solid" else None


def _ours(cell) -> bool:
    return cell.comment is not None and cell.comment.author == AUTHOR


def _colour_for(cell) -> str:
    """Red where any problem on the cell is an error, amber where all are warnings."""
    return ERROR_RGB if "FOUT (punt" in cell.comment.text else WARNING_RGB


def _control_rows(ws) -> list[dict]:
    rows = []
    r = FIRST_ROW
    while ws.cell(r, 1).value is not None:
        link = ws.cell(r, 9)
        rows.append({"nr": ws.cell(r, 1).value, "ernst": str(ws.cell(r, 2).value), "sheet": ws.cell(r, 3).value,
                     "found": str(ws.cell(r, 6).value), "fix": str(ws.cell(r, 7).value or ""),
                     "how": str(ws.cell(r, 8).value), "link": link.hyperlink.location if link.hyperlink else None,
                     "types": {ws.cell(r, c).data_type for c in range(1, 10)}})
        r += 1
    return rows


def _parse_location(loc: str) -> tuple[str, str]:
    sheet, _, ref = loc.rpartition("!")
    assert sheet.startswith("'") and sheet.endswith("'"), loc
    return sheet[1:-1].replace("''", "'"), ref


def _trim(grid: list[list[object]]) -> list[list[object]]:
    rows = [list(r) for r in grid]
    for r in rows:
        while r and r[-1] in (None, ""):
            r.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def assert_partner_data_unchanged(original: Path, copy: Path) -> None:
    """Every cell of every original sheet: same value, same type (formulas included), same merges and
    order; and what a reader sees (cached formula results included, via calamine) is the same."""
    a, b = _load(original), _load(copy)
    assert b.sheetnames[1:] == a.sheetnames
    for ws in a.worksheets:
        wc = b[ws.title]
        mine = {k: (c.value, c.data_type) for k, c in ws._cells.items() if c.value is not None}
        theirs = {k: (c.value, c.data_type) for k, c in wc._cells.items() if c.value is not None}
        assert theirs == mine, ws.title
        assert sorted(map(str, wc.merged_cells.ranges)) == sorted(map(str, ws.merged_cells.ranges))
    ga, gb = load_grids(original), load_grids(copy)
    for name in a.sheetnames:
        assert _trim(gb[name]) == _trim(ga[name]), name
    # Only the partner's own formulas: as many as in the original, none on our Controle sheet.
    with zipfile.ZipFile(copy) as zf:
        first = markup._sheet_members(zf)[b.sheetnames[0]]
    got = formula_cells(copy)
    assert len(got) == len(formula_cells(original))
    assert not [c for c in got if c.startswith(first + "!")]


def assert_marked(copy: Path, problems: list[dict], case: Case | None = None) -> None:
    """The Controle sheet lists every problem, its links land on marked cells, every problem cell is
    filled and commented with the fix; for the catalogue's cells, exactly those cells."""
    wb = _load(copy)
    ctl = wb.worksheets[0]
    assert ctl.title == "Controle" and ctl["A1"].value == CONTROL_TITLE
    assert wb.active is ctl and ctl.sheet_state == "visible"
    rows = _control_rows(ctl)
    ordered = [p for p in problems if p["ernst"] == "fout"] + [p for p in problems if p["ernst"] != "fout"]
    assert len(rows) == len(ordered)
    for row, p in zip(rows, ordered, strict=True):
        assert row["found"].startswith(p["melding"])
        assert row["fix"] == p["wat_te_doen"]
        assert row["ernst"] == ("Fout" if p["ernst"] == "fout" else "Opmerking")
        assert "f" not in row["types"], "a Controle cell became a formula"
        nr = row["nr"]
        tag = f"(punt {nr} op tabblad Controle)"
        real = markup._match_sheet(p["tabblad"], wb.sheetnames[1:]) if p["tabblad"] else None
        if real is None:
            assert row["link"] is None
            continue
        sheet, link_ref = _parse_location(row["link"])
        assert sheet == real
        target = wb[sheet][link_ref]
        assert _ours(target) and tag in target.comment.text and p["melding"] in target.comment.text
        if p["wat_te_doen"]:
            assert p["wat_te_doen"] in target.comment.text
        assert _rgb(target) == _colour_for(target)
        assert wb[sheet].sheet_state == "visible"
        marked = {f"{sheet}!{k}" for ws in wb.worksheets[1:] for k in
                  [c.coordinate for c in ws._cells.values() if _ours(c) and tag in c.comment.text]}
        for ref in p["cellen"][:MAX_CELLS_PER_PROBLEM]:
            cell = wb[sheet][ref]
            assert f"{sheet}!{ref}" in marked, (p["code"], ref)
            assert _rgb(cell) == _colour_for(cell), (p["code"], ref)
            assert p["wat_te_doen"] in cell.comment.text
        if p["cellen"]:
            assert link_ref == p["cellen"][0]
        if case is not None and p["code"] in case.cells:
            # Across all problems with this code: exactly the catalogue's cells carry their comments.
            want = set(case.cells[p["code"]])
            tags = [f"(punt {r['nr']} op tabblad Controle)" for r, q in zip(rows, ordered, strict=True)
                    if q["code"] == p["code"]]
            got = {f"{ws.title}!{c.coordinate}" for ws in wb.worksheets[1:] for c in ws._cells.values()
                   if _ours(c) and any(t in c.comment.text for t in tags)}
            assert got == want, (p["code"], sorted(got), sorted(want))
            for ref in want:
                s, _, a1 = ref.partition("!")
                assert _rgb(wb[s][a1]) == _colour_for(wb[s][a1]), ref


# --------------------------------------------------------------------------- the catalogue, case by case

def test_catalogue_has_copies_to_check():
    assert len(COPY_CASES) >= 15
    assert any(c.status == "geaccepteerd" for c in COPY_CASES)
    assert any(c.personal_data for c in CASES) and not any(c.personal_data for c in COPY_CASES)


def _openpyxl_can_load(path: Path) -> bool:
    try:
        load_workbook(path)
    except Exception:  # noqa: BLE001 - a crafted file (``inf`` in a number cell) that openpyxl refuses
        return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_marked_copy_for_each_catalogue_case(case: Case, data_dirs, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    src, outcome, js = _process(case, data_dirs, tmp_path)
    copies = [p for p in data_dirs.root.rglob("*.xlsx") if p.name.endswith(".gemarkeerd.xlsx")]
    if expects_copy(case) and not _openpyxl_can_load(src):
        # openpyxl cannot open it: the receipt goes out without a copy, the skip is logged
        assert js["gemarkeerde_kopie"] is None and copies == []
        assert f"gemarkeerde kopie voor {outcome.levering_id} niet gemaakt" in caplog.text
        assert js["problemen"] and outcome.receipt.is_file()
        return
    if not expects_copy(case):
        assert js["gemarkeerde_kopie"] is None
        assert copies == [], "no marked-up copy for personal data, unreadable or clean files"
        assert list(data_dirs.outbox.rglob("*.xlsx")) == []
        return
    # The receipt (text and JSON) names the copy, which sits next to it with the receipt's stem.
    stem = outcome.receipt.name.removesuffix(".ontvangstbewijs.txt")
    assert js["gemarkeerde_kopie"] == stem + ".gemarkeerd.xlsx"
    copy = data_dirs.outbox / folder(case.source) / js["gemarkeerde_kopie"]
    assert copies == [copy]
    assert js["gemarkeerde_kopie"] in outcome.receipt.read_text(encoding="utf-8")
    assert not [p for p in copy.parent.iterdir() if p.name.startswith(".")], "temp file left behind"
    check_workbook(copy)                       # our own safety check accepts what we send out
    assert_partner_data_unchanged(src, copy)
    assert_marked(copy, js["problemen"], case)


# --------------------------------------------------------------------------- a hand-made VT workbook

def _vt_sample(tmp_path: Path) -> Path:
    from etl.tools.samples import generate_samples

    s = generate_samples(tmp_path / "samples", quarters=["2024Q3"])
    return next(f for f in s.files if f.parent.name == "veilig_thuis")


def test_sample_workbook_broken_by_hand(data_dirs, tmp_path):
    """A generated VT workbook (title, merged cells, styles, Totaal row, notes) broken in four ways."""
    src = _vt_sample(tmp_path)
    wb = load_workbook(src)
    ws = wb["Meldingen"]
    ws["E7"] = ws["E7"].value + 5                      # the kinds no longer add up to the total
    ws["C9"] = -4                                      # negative count
    ws["B10"] = "Assen"                                # not a municipality of the region
    wb["Doorlooptijden"].sheet_state = "hidden"
    broken = tmp_path / "vt_kapot.xlsx"
    wb.save(broken)
    case = Case("hand", "veilig_thuis", "vt_kapot.xlsx", lambda p: None, "afgekeurd")
    _, _, js = _process(case, data_dirs, tmp_path, broken)
    assert js["status"] == "afgekeurd"
    codes = {p["code"] for p in js["problemen"]}
    assert {"som_klopt_niet", "negatief", "gemeente_onbekend", "tabblad_verborgen"} <= codes
    copy = data_dirs.outbox / "veilig_thuis" / js["gemarkeerde_kopie"]
    assert_partner_data_unchanged(broken, copy)
    assert_marked(copy, js["problemen"])
    out = _load(copy)
    for ref in ("E7", "C9", "B10"):
        assert _rgb(out["Meldingen"][ref]) == ERROR_RGB and _ours(out["Meldingen"][ref])
    assert out["Doorlooptijden"].sheet_state == "visible"
    rows = _control_rows(out["Controle"])
    hidden = next(r for r in rows if r["sheet"] == "Doorlooptijden" and "verborgen" in r["found"])
    assert "zichtbaar gemaakt" in hidden["how"]
    # the partner's formatting is still there
    assert out["Meldingen"]["A1"].font.b and out["Meldingen"].freeze_panes == load_workbook(broken)["Meldingen"].freeze_panes
    assert out["Meldingen"].column_dimensions["B"].width == load_workbook(broken)["Meldingen"].column_dimensions["B"].width


# --------------------------------------------------------------------------- mark_workbook directly

def _mark(src: Path, problems, tmp_path: Path, source: str = "veilig_thuis"):
    from etl.core.sources import get_source

    dst = tmp_path / "uit" / "kopie.gemarkeerd.xlsx"
    result = markup.mark_workbook(src, problems, dst, intro=["Bestand: test"], source=get_source(source))
    return result, _load(dst)


def test_sheet_names_merged_cells_and_the_cap(tmp_path):
    src = build_case(BY_NAME["baseline_veilig_thuis"], tmp_path)
    many = tuple(f"C{r}" for r in range(4, 1404))      # 1400 cells: more than the cap
    problems = [
        error("x_titel", "Iets met de titel.", "Pas de titel aan.", sheet="  MELDINGEN ", cells=("C1",)),
        error("x_veel", "Heel veel cellen.", "Pas ze allemaal aan.", sheet="Meldingen", cells=many),
        warning("x_kolom", "Iets met de kolom.", "Kijk de kolom na.", sheet="meldingen", column="hermeldingen"),
        error("x_regel", "Iets met regel 8.", "Pas regel 8 aan.", sheet="Meldingen", rows=(8,)),
        error("x_weg", "Tabblad ontbreekt.", "Voeg het toe.", sheet="Capaciteit"),
        error("x_alles", "Het hele bestand.", "Lever opnieuw aan."),
    ]
    result, wb = _mark(src, problems, tmp_path)
    ws = wb["Meldingen"]
    # merged title A1:O1: the top-left cell carries the mark, the sheet name was matched
    assert _rgb(ws["A1"]) == ERROR_RGB and "Pas de titel aan." in ws["A1"].comment.text
    # the cap, and the Controle sheet says so
    many_mark = next(m for m in result.marks if m.problem.code == "x_veel")
    assert len(many_mark.cells) == MAX_CELLS_PER_PROBLEM and many_mark.total == 1400
    assert _rgb(ws[f"C{4 + MAX_CELLS_PER_PROBLEM - 1}"]) == ERROR_RGB
    rows = {r["found"]: r for r in _control_rows(wb["Controle"])}
    assert f"eerste {MAX_CELLS_PER_PROBLEM} van 1400" in rows["Heel veel cellen."]["how"]
    # a column problem without rows: the header cell (row 3, column M), amber
    assert _rgb(ws["M3"]) == WARNING_RGB and "Kijk de kolom na." in ws["M3"].comment.text
    assert rows["Iets met de kolom."]["link"] == "'Meldingen'!M3"
    # a row problem: the whole row filled, one comment on its first cell
    assert all(_rgb(ws.cell(8, c)) == ERROR_RGB for c in range(1, 16))
    assert _ours(ws["A8"]) and not _ours(ws["B8"])
    # no place in the workbook: listed without a link
    assert rows["Tabblad ontbreekt."]["link"] is None and rows["Het hele bestand."]["link"] is None
    assert [r["nr"] for r in _control_rows(wb["Controle"])] == list(range(1, 7))


def test_a_partners_own_comment_is_kept(tmp_path):
    from openpyxl.comments import Comment

    src = build_case(BY_NAME["baseline_veilig_thuis"], tmp_path)
    wb = load_workbook(src)
    wb["Meldingen"]["C5"].comment = Comment("Voorlopig cijfer, nog nakijken.", "Anja")
    with_note = tmp_path / "met_notitie.xlsx"
    wb.save(with_note)
    problems = [error("x", "Iets in C5.", "Pas C5 aan.", sheet="Meldingen", cells=("C5",))]
    _, out = _mark(with_note, problems, tmp_path)
    note = out["Meldingen"]["C5"].comment
    assert note.text.startswith("Voorlopig cijfer, nog nakijken.") and "Pas C5 aan." in note.text
    # the copy dropped back and marked again for something else: the partner's note alone remains
    again = tmp_path / "uit" / "kopie.gemarkeerd.xlsx"
    shutil.copy(again, tmp_path / "terug.xlsx")
    other = [warning("y", "Iets in C6.", "Kijk C6 na.", sheet="Meldingen", cells=("C6",))]
    _, out2 = _mark(tmp_path / "terug.xlsx", other, tmp_path)
    assert out2["Meldingen"]["C5"].comment.text == "Voorlopig cijfer, nog nakijken."
    assert _rgb(out2["Meldingen"]["C5"]) is None and _rgb(out2["Meldingen"]["C6"]) == WARNING_RGB
    assert out2.sheetnames[0] == "Controle" and out2.sheetnames.count("Controle") == 1
    assert "Controle monitor" not in out2.sheetnames


def test_controle_text_is_never_a_formula(tmp_path):
    wb = Workbook()
    wb.active.title = "=Blad"
    wb.active["A1"] = "periode"
    src = tmp_path / "formule.xlsx"
    wb.save(src)
    problems = [error("x", "=1+2 is geen kolom", "+31 6 bellen? Nee: -pas aan", sheet="=Blad", column="@SOM(A1)",
                      cells=("A1",))]
    _, out = _mark(src, problems, tmp_path)
    row = _control_rows(out["Controle"])[0]
    assert "f" not in row["types"] and row["sheet"] == "=Blad" and row["found"] == "=1+2 is geen kolom"
    assert out["Controle"].cell(FIRST_ROW, 4).value == "@SOM(A1)"
    assert row["link"] == "'=Blad'!A1"
    assert formula_cells(tmp_path / "uit" / "kopie.gemarkeerd.xlsx") == []


def test_formulas_stay_formulas_with_the_partners_results(tmp_path):
    """A Totaal row of =SUM formulas with cached results: the copy keeps both, nothing is recalculated."""
    src = build_case(BY_NAME["formulas_with_cached_values"], tmp_path)
    problems = [error("x", "Kijk dit na.", "Pas C4 aan.", sheet="Meldingen", cells=("C4",))]
    _, out = _mark(src, problems, tmp_path)
    dst = tmp_path / "uit" / "kopie.gemarkeerd.xlsx"
    assert out["Meldingen"]["D4"].data_type == "f" and str(out["Meldingen"]["D4"].value).startswith("=SUM(")
    assert_partner_data_unchanged(src, dst)           # calamine sees the same cached results
    assert load_grids(dst)["Meldingen"][13][3] == load_grids(src)["Meldingen"][13][3] != ""
    assert out.calculation.fullCalcOnLoad is not True


def test_no_copy_and_no_crash_when_the_file_cannot_be_opened(data_dirs, tmp_path, caplog, monkeypatch):
    """Never crash the intake: a file openpyxl cannot load gives a receipt without a copy."""
    from etl.store.db import Delivery

    bad = tmp_path / "kapot.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:              # a zip that says it is a workbook, but is not one
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "geen xml")
    bad.write_bytes(buf.getvalue())
    d = Delivery(levering_id="veilig_thuis-x", bron="veilig_thuis", organisatie="veilig-thuis-groningen",
                 bestandsnaam="kapot.xlsx", sha256="0" * 64,
                 ontvangen_op="2024-10-10T09:00:00+00:00", status="afgekeurd", persoonsgegevens=False, periodes=[],
                 problemen=[error("negatief", "'adviezen' is negatief.", "Een aantal is 0 of meer.", sheet="Meldingen",
                                  cells=("C12",)).to_dict()],
                 validatie={}, opgeslagen_als=None, afgerond=False)
    caplog.set_level(logging.INFO)
    assert markup.write_for_delivery(data_dirs, d, bad).path is None
    assert list(data_dirs.outbox.rglob("*.xlsx")) == []
    assert "veilig_thuis-x" in caplog.text and "geen xml" not in caplog.text
    # too large to rewrite within the minute: skipped, not attempted
    good = build_case(BY_NAME["negative_count"], tmp_path)
    monkeypatch.setenv("MONITOR_MARKUP_MAX_MB", "0.001")
    too_big = markup.write_for_delivery(data_dirs, d, good)
    assert too_big.path is None and too_big.why_not
    monkeypatch.delenv("MONITOR_MARKUP_MAX_MB")
    assert markup.write_for_delivery(data_dirs, d, good).path is not None
    for p in data_dirs.outbox.rglob("*.xlsx"):
        p.unlink()
    # personal data: not even an attempt
    pii = Delivery(**{**d.__dict__, "persoonsgegevens": True})
    assert markup.write_for_delivery(data_dirs, pii, good) == markup.MarkedCopy()
    # our own analysis crashed (the screen may not have finished): restricted, no copy either
    crashed = Delivery(**{**d.__dict__, "problemen": [error("verwerkingsfout", "Fout bij ons.", "Niets doen.").to_dict()]})
    assert markup.write_for_delivery(data_dirs, crashed, good) == markup.MarkedCopy()
    restricted = data_dirs.restricted / "veilig_thuis" / "x.xlsx"
    restricted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(good, restricted)
    assert markup.write_for_delivery(data_dirs, d, restricted) == markup.MarkedCopy()
    assert list(data_dirs.outbox.rglob("*.xlsx")) == []


def test_rerun_overwrites_the_copy_atomically(data_dirs, tmp_path):
    """The hook runs again when a killed intake resumes: same copy, overwritten, nothing left over."""
    from etl.store.db import Store

    _, outcome, js = _process(BY_NAME["sum_of_kinds_wrong"], data_dirs, tmp_path)
    copy = data_dirs.outbox / "veilig_thuis" / js["gemarkeerde_kopie"]
    first = _control_rows(_load(copy)["Controle"])
    with Store(data_dirs.db_path) as store:
        d = store.delivery(outcome.levering_id)
    os.utime(copy, (0, 0))
    again = markup.write_for_delivery(data_dirs, d, outcome.location)
    assert again.path == copy and copy.stat().st_mtime > 0
    assert _control_rows(_load(copy)["Controle"]) == first
    assert sorted(p.name for p in copy.parent.iterdir()) == sorted(
        [copy.name, outcome.receipt.name, outcome.receipt.with_suffix(".json").name])


# --------------------------------------------------------------------------- the round trip

def _set(ws, ref: str, value) -> None:
    assert _ours(ws[ref]), f"{ws.title}!{ref} was not marked"
    ws[ref] = value


FIXES = {
    "sum_of_kinds_wrong": lambda wb: _set(wb["Meldingen"], "E7", wb["Meldingen"]["E7"].value - 1),
    "negative_count": lambda wb: _set(wb["Meldingen"], "C12", vt_values(8)["adviezen"]),
    "unknown_gemeente": lambda wb: _set(wb["Meldingen"], "B9", "Oldambt"),
    "hermeldingen_above_total": lambda wb: _set(wb["Meldingen"], "M10", vt_values(6)["hermeldingen"]),
    "totaal_row_wrong": lambda wb: _set(wb["Meldingen"], "D14", wb["Meldingen"]["D14"].value - 10),
    "unknown_wijk": lambda wb: _set(wb["Casussen"], "C7", "Centrum"),
    "occupancy_above_100": lambda wb: _set(wb["Capaciteit"], "C4", 2400),
    "several_problems_at_once": lambda wb: (
        _set(wb["Meldingen"], "C12", vt_values(8)["adviezen"]), _set(wb["Meldingen"], "B9", "Oldambt"),
        _set(wb["Meldingen"], "C5", vt_values(1)["adviezen"]), _set(wb["Doorlooptijden"], "C4", 100)),
}
BASELINE = {"veilig_thuis": "baseline_veilig_thuis", "wij": "baseline_wij", "vrouwenopvang": "baseline_vrouwenopvang"}


@pytest.mark.parametrize("name", [n for n in FIXES if n in BY_NAME])
def test_fixing_the_marked_cells_makes_the_next_drop_pass(name, data_dirs, tmp_path):
    from etl.store.dataset import load

    case = BY_NAME[name]
    _, _, js = _process(case, data_dirs, tmp_path)
    assert js["status"] == "afgekeurd"
    copy = data_dirs.outbox / folder(case.source) / js["gemarkeerde_kopie"]
    wb = load_workbook(copy)                      # the partner opens the copy and fixes the marked cells
    FIXES[name](wb)
    fixed = tmp_path / "gecorrigeerd" / case.filename
    fixed.parent.mkdir()
    wb.save(fixed)
    _, outcome, js2 = _process(case, data_dirs, tmp_path, fixed)
    assert js2["status"] == "geaccepteerd", js2["problemen"]
    assert js2["problemen"] == [], "our own Controle sheet is skipped, not reported"
    assert js2["gemarkeerde_kopie"] is None
    ds = load(None, data_dirs)
    assert set(ds.levering_id) == {outcome.levering_id}
    BY_NAME[BASELINE[case.source]].check(ds)


def test_a_copy_dropped_back_half_fixed_is_marked_afresh(data_dirs, tmp_path):
    """Old Controle sheet, fills and comments go; the problem still there is marked again."""
    case = BY_NAME["several_problems_at_once"]
    _, _, js = _process(case, data_dirs, tmp_path)
    wb = load_workbook(data_dirs.outbox / folder(case.source) / js["gemarkeerde_kopie"])
    _set(wb["Meldingen"], "C12", vt_values(8)["adviezen"])          # one of four fixed
    half = tmp_path / "half" / case.filename
    half.parent.mkdir()
    wb.save(half)
    _, _, js2 = _process(case, data_dirs, tmp_path, half)
    assert js2["status"] == "afgekeurd" and "negatief" not in {p["code"] for p in js2["problemen"]}
    copy = data_dirs.outbox / folder(case.source) / js2["gemarkeerde_kopie"]
    out = _load(copy)
    assert [ws.title for ws in out.worksheets if ws["A1"].value == CONTROL_TITLE] == ["Controle"]
    assert _rgb(out["Meldingen"]["C12"]) is None and out["Meldingen"]["C12"].comment is None
    assert _ours(out["Meldingen"]["B9"]) and _ours(out["Meldingen"]["C5"])
    assert_marked(copy, js2["problemen"], None)


# --------------------------------------------------------------------------- LibreOffice

@pytest.mark.slow
def test_libreoffice_renders_every_copy(tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed on this machine")
    from etl.core.sources import get_source
    from etl.intake.analyse import analyse

    copies = []
    for case in COPY_CASES:
        src = build_case(case, tmp_path / "in" / case.name)
        if not _openpyxl_can_load(src):
            continue
        a = analyse(src, get_source(case.source), LIMITS)
        dst = tmp_path / "copies" / f"{case.name}.xlsx"
        markup.mark_workbook(src, a.problems, dst, intro=[f"Bestand: {case.filename}"], source=get_source(case.source))
        copies.append(dst)
    out = tmp_path / "pdf"
    proc = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(out), *map(str, copies)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    for dst in copies:
        pdf = out / (dst.stem + ".pdf")
        assert pdf.is_file() and pdf.stat().st_size > 1000, dst.name
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, "-layout", str(out / "several_problems_at_once.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "Controle door de Monitor" in text and "Meldingen!C12" in text
