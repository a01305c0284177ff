"""Every file of the catalogue through the real inbox: right place, right receipt, right data.

Each case is dropped into a fresh data directory and processed by
``etl.intake.inbox.process_inbox`` (safety -> read -> screen -> GX -> store -> receipt -> move),
exactly as the inbox DAG does. See tests/fixtures/catalogue.py for the files.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from etl.core.config import SOURCES
from etl.core.xlsx_safe import formula_cells
from tests.conftest import drop, folder
from tests.fixtures.catalogue import CASES, LIMITS, PLANTED, Case, build_case

BY_NAME = {c.name: c for c in CASES}
# Words that must not leak into a partner's receipt (a crash, a Python repr, English errors).
NOT_DUTCH = ("Traceback", "Exception", "Error", "None", "nan", "NaN", "ParseError", "KeyError")


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if (p.is_file() or p.is_symlink()) and not p.name.startswith(".")]


def _printable(name: str) -> bool:
    return all(ch.isprintable() and unicodedata.category(ch) not in {"Cc", "Cf"} for ch in name)


def _formulas_by_sheet(path: Path) -> set[tuple[str, str]]:
    """(sheet name, cell) of every formula cell; empty when openpyxl cannot open the file."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path)
    except Exception:  # noqa: BLE001 - a hostile original that openpyxl cannot read has no formulas we copy
        return set()
    return {(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"}


def _process(case: Case, data_dirs, tmp_path: Path, caplog):
    from etl.intake.inbox import process_inbox

    src = build_case(case, tmp_path / "built")
    drop(data_dirs, case.source, src, case.filename)
    caplog.set_level(logging.DEBUG)
    outcomes = process_inbox(data_dirs, limits=LIMITS)
    assert len(outcomes) == 1, outcomes
    return outcomes[0]


def test_catalogue_is_large_and_covers_the_issue():
    assert len(CASES) >= 30
    accepted = [c for c in CASES if c.status == "geaccepteerd"]
    rejected = [c for c in CASES if c.status == "afgekeurd"]
    assert len(accepted) >= 15 and len(rejected) >= 30
    assert all(c.check is not None for c in accepted), "every accepted case says which values it must give"
    assert all(c.codes for c in rejected), "every rejected case says which errors it must give"
    assert sum(c.personal_data for c in CASES) >= 8
    assert {c.source for c in CASES} == set(SOURCES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_outcome(case: Case, data_dirs, tmp_path, caplog):
    from etl.store.dataset import load

    outcome = _process(case, data_dirs, tmp_path, caplog)
    src = tmp_path / "built" / case.filename
    root = data_dirs.root

    # --- where the file went: exactly one place, never the readable archive for personal data
    assert outcome.status == case.status, (outcome.status, outcome.problem_codes)
    expected_dir = (data_dirs.restricted if case.personal_data
                    else data_dirs.archive if case.status == "geaccepteerd" else data_dirs.quarantine) / folder(case.source)
    assert outcome.location.parent == expected_dir
    assert outcome.location.exists()
    stored = [p for d in (data_dirs.archive, data_dirs.quarantine, data_dirs.restricted) for p in _all_files(d)]
    assert stored == [outcome.location]
    assert _all_files(data_dirs.inbox) == [] and _all_files(data_dirs.processing) == []
    if case.personal_data:
        assert _all_files(data_dirs.archive) == [] and _all_files(data_dirs.quarantine) == []
        assert (os.stat(data_dirs.restricted).st_mode & 0o077) == 0, "restricted area readable by others"

    # --- exactly one receipt and its JSON twin, in the partner's own outbox
    txts = list((data_dirs.outbox / folder(case.source)).glob("*.ontvangstbewijs.txt"))
    jsons = list((data_dirs.outbox / folder(case.source)).glob("*.ontvangstbewijs.json"))
    assert len(txts) == 1 and len(jsons) == 1
    assert outcome.receipt == txts[0]
    for other in SOURCES:
        if other != case.source:
            assert _all_files(data_dirs.outbox / folder(other)) == []
    text = txts[0].read_text(encoding="utf-8")
    js = json.loads(jsons[0].read_text(encoding="utf-8"))

    # --- the JSON twin matches its committed schema
    from tests.intake.test_receipt import receipt_validator

    assert not [e.message for e in receipt_validator().iter_errors(js)]

    # --- status, problem codes and cells, as the catalogue says
    assert js["status"] == case.status
    assert js["persoonsgegevens"] is case.personal_data
    errors = {p["code"] for p in js["problemen"] if p["ernst"] == "fout"}
    warnings = {p["code"] for p in js["problemen"] if p["ernst"] == "waarschuwing"}
    if case.status == "afgekeurd":
        assert errors == set(case.codes), js["problemen"]
    else:
        assert errors == set() and warnings == set(case.codes), js["problemen"]
    for code, cells in case.cells.items():
        got = {f"{p['tabblad']}!{c}" for p in js["problemen"] if p["code"] == code for c in p["cellen"]}
        assert got == set(cells), (code, sorted(got))

    # --- the receipt is Dutch and says what to do
    assert text.startswith("ONTVANGSTBEWIJS")
    assert ("RESULTAAT: AANGENOMEN" in text) == (case.status == "geaccepteerd")
    prose = "\n".join(line for line in text.splitlines() if "van wat er staat:" not in line)
    for word in NOT_DUTCH:                 # (examples quote the cell as it is, e.g. 'nan': not prose)
        assert word not in prose, word
    for p in js["problemen"]:
        assert p["melding"] and p["melding"] in text
        if p["ernst"] == "fout":
            assert p["wat_te_doen"] and p["wat_te_doen"] in text
    if case.status == "afgekeurd":
        assert "WAT MOET U AANPASSEN" in text
    else:
        assert "Kwartalen in dit bestand:" in text

    # --- names on disk are printable whatever the partner called the file
    for p in root.rglob("*"):
        assert _printable(p.name), repr(p.name)
    bestand_line = next(line for line in text.splitlines() if line.startswith("Bestand:"))
    assert _printable(bestand_line)

    # --- the dataset: this delivery's values, this partner only; nothing for a rejected file
    ds = load(None, data_dirs)
    if case.status == "geaccepteerd":
        assert set(ds.bron) == {case.source}
        assert set(ds.levering_id) == {outcome.levering_id}
        assert not ds.duplicated(["periode", "bron", "gebied_type", "gebied_code", "indicator"]).any()
        case.check(ds)
    else:
        assert ds.empty

    # --- no formula in what we wrote, except the partner's own formulas kept in a marked-up copy
    for x in data_dirs.outbox.rglob("*.xlsx"):
        assert _formulas_by_sheet(x) <= _formulas_by_sheet(src), x

    # --- personal data: sheet and column named, no value anywhere we write
    if case.personal_data:
        pii = [p for p in js["problemen"] if p["code"] == "persoonsgegevens"]
        assert pii and all(p["tabblad"] and p["kolom"] for p in pii)
        assert all(p["voorbeelden"] == [] for p in js["problemen"])
        assert list(data_dirs.outbox.rglob("*.xlsx")) == [], "no marked-up copy of a file with personal data"
        db_dump = "\n".join(sqlite3.connect(data_dirs.db_path).iterdump())
        outputs = {"receipt": text, "json": jsons[0].read_text(encoding="utf-8"), "store": db_dump,
                   "logs": caplog.text + "\n".join(str(r.args) for r in caplog.records)}
        for value in PLANTED[case.name]:
            for where, content in outputs.items():
                assert value not in content, f"planted value leaked into the {where}"


def test_symlink_in_inbox_is_refused_and_target_untouched(data_dirs, tmp_path, caplog):
    """A link in the inbox is never followed: it could point at another partner's file or /etc/passwd."""
    from etl.intake.inbox import process_inbox
    from etl.store.dataset import load

    target = build_case(BY_NAME["baseline_veilig_thuis"], tmp_path / "elders")
    before = target.read_bytes()
    link = data_dirs.inbox / "veilig_thuis" / "vt_link.xlsx"
    link.symlink_to(target)
    os.utime(link, (0, 0), follow_symlinks=False)
    [outcome] = process_inbox(data_dirs, limits=LIMITS)
    assert outcome.status == "afgekeurd" and outcome.problem_codes == ("snelkoppeling",)
    assert outcome.location.is_symlink() and outcome.location.parent == data_dirs.quarantine / "veilig_thuis"
    assert target.read_bytes() == before
    assert load(None, data_dirs).empty


def test_header_keys_are_unambiguous():
    """Header matching ignores spaces (``Kinder-mishandeling``): no two columns of a sheet may then collide."""
    from etl.core.sources import load_sources
    from etl.intake.read import header_key as _key

    for source in load_sources().values():
        for sheet in source.sheets:
            owner: dict[str, str] = {}
            for col in sheet.columns:
                for f in col.folded_names:
                    assert owner.setdefault(_key(f), col.name) == col.name, (sheet.name, f)


def test_formula_like_text_never_becomes_a_formula_in_the_report(data_dirs, tmp_path, caplog):
    """Partner text starting with = + - @ is accepted as text and stays text in the workbook we write."""
    from etl.report import build_workbook

    outcome = _process(BY_NAME["formula_like_text"], data_dirs, tmp_path, caplog)
    assert outcome.status == "geaccepteerd"
    report = build_workbook("2024Q3", data_dirs)
    assert formula_cells(report) == []


@pytest.mark.parametrize("name, code", [
    ("zip_bomb_streamed", "te_groot"), ("zip_bomb_ratio", "te_groot"), ("too_many_rows", "te_groot"),
    ("xxe_doctype", "xml_onveilig"), ("billion_laughs_after_comment", "xml_onveilig"),
    ("macro_inside_xlsx", "macros"), ("password_protected", "beveiligd_of_oud"), ("ods_renamed_to_xlsx", "geen_xlsx"),
])
def test_hostile_files_are_refused_before_any_reader_runs(name, code, tmp_path):
    """etl.intake.safety decides from the zip alone: no XML parser or sheet reader sees these files."""
    from etl.intake.safety import FileRefused, check_workbook

    with pytest.raises(FileRefused) as refused:
        check_workbook(build_case(BY_NAME[name], tmp_path), LIMITS)
    assert refused.value.problem.code == code


def test_row_limit_is_exact_across_chunk_boundaries(tmp_path):
    """Rows are counted while streaming 1 MB chunks; a tag cut by a chunk boundary counts once."""
    import re

    from etl.core.config import Limits
    from etl.intake.safety import FileRefused, check_workbook
    from tests.fixtures.catalogue import _rezip, _workbook_bytes, vt_sheets

    n = 40_000
    body = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, n + 1))

    def edit(members):
        xml = members["xl/worksheets/sheet1.xml"].decode()
        members["xl/worksheets/sheet1.xml"] = re.sub(r"<sheetData>.*</sheetData>", f"<sheetData>{body}</sheetData>",
                                                     xml, flags=re.S).encode()

    path = tmp_path / "rows.xlsx"
    path.write_bytes(_rezip(_workbook_bytes(vt_sheets()), edit))
    assert len(body) > 1.5 * 2**20          # at least two chunks
    check_workbook(path, Limits(max_rows=n))
    with pytest.raises(FileRefused):
        check_workbook(path, Limits(max_rows=n - 1))
