"""Validation: the two GX passes (pass/fail for all, details for the failed) report exactly
what one ``COMPLETE`` pass reports, on every file of the catalogue that gets as far as GX."""

from __future__ import annotations

import pytest

from etl.core.config import Limits
from etl.core.sources import get_source
from tests.fixtures.catalogue import CASES, LIMITS, build_case


def _one_complete_pass(suite, frame):
    from etl.intake.validate import _gx

    batch = _gx().batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return list(batch.validate(suite, result_format={"result_format": "COMPLETE", "include_unexpected_rows": False}).results)


def _read(case, tmp_path):
    from etl.intake.read import load_sheets_for, locate, read_workbook
    from etl.intake.safety import check_workbook

    path = build_case(case, tmp_path / case.name)
    source = get_source(case.source)
    try:
        info = check_workbook(path, LIMITS or Limits())
        grids = load_sheets_for(path, source)
    except Exception:  # noqa: BLE001 - only files that reach GX matter here (refusals, broken files: not)
        return None, source
    if not grids:
        return None, source
    read = read_workbook(locate(grids, source), source, info)
    return (read if read.sheets else None), source


def test_two_passes_report_what_one_complete_pass_reports(tmp_path, monkeypatch):
    from etl.intake import validate

    compared = failed = 0
    for case in CASES:
        read, source = _read(case, tmp_path)
        if read is None:
            continue
        two, summary_two = validate.run_expectations(source, read)
        monkeypatch.setattr(validate._Gx, "run", lambda self, suite, frame: _one_complete_pass(suite, frame))
        one, summary_one = validate.run_expectations(source, read)
        monkeypatch.undo()
        assert [p.to_dict() for p in two] == [p.to_dict() for p in one], case.name
        assert summary_two.to_dict() == summary_one.to_dict(), case.name
        compared += 1
        failed += bool(summary_one.failed)
    assert compared >= 30 and failed >= 5, (compared, failed)      # the catalogue has both kinds


def test_a_failed_expectation_still_names_its_rows(tmp_path):
    """The second pass is what gives the rows: a negative count is reported at its Excel row."""
    case = next((c for c in CASES if "negatief" in c.codes), None)
    if case is None:
        pytest.skip("no catalogue case with a negative count")
    read, source = _read(case, tmp_path)
    from etl.intake.validate import run_expectations

    problems, summary = run_expectations(source, read)
    neg = [p for p in problems if p.code == "negatief"]
    assert neg and all(p.rows and p.cells for p in neg) and summary.failed
