"""Analyse one claimed file: safe? personal data? readable? valid? -> an ``Analysis``.

Pure with respect to the data directory: takes a path, returns problems, quarters and
dataset rows. The inbox module decides where the file goes; the tests call this
directly on the fixture catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.core.config import Limits
from etl.core.organisations import Organisation, original
from etl.core.problems import Problem, error
from etl.core.sources import Source
from etl.intake.coverage import coverage_problems
from etl.intake.read import ReadResult, load_sheets_for, locate, read_workbook
from etl.intake.safety import FileRefused, WorkbookInfo, check_workbook
from etl.intake.screen import screen_grids
from etl.intake.tidy import tidy_delivery, unknown_figures
from etl.intake.validate import ValidationSummary, validate


@dataclass
class Analysis:
    accepted: bool
    problems: list[Problem]
    periodes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    values: pd.DataFrame | None = None
    personal_data: bool = False
    validation: ValidationSummary = field(default_factory=ValidationSummary)
    read: ReadResult | None = None


def _rejected(problems: list[Problem], **kw) -> Analysis:
    return Analysis(accepted=False, problems=problems, **kw)


def _n(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _nothing_readable(info: WorkbookInfo, source: Source) -> Problem:
    """No value the reader can see. Not always "empty": a sheet of error values (#DEEL/0!),
    or of formulas saved without their results, holds something, just no number; say what."""
    held = []
    for sheet, scan in info.scans.items():
        parts = []
        if scan.error_cells:
            parts.append(f"{_n(scan.error_cells, 'foutwaarde', 'foutwaarden')} (zoals #DEEL/0! of #N/B)")
        if scan.array_formulas:
            parts.append(f"{_n(scan.array_formulas, 'matrixformule', 'matrixformules')}")
        missing = len(info.formulas_without_value.get(sheet, ()))
        if missing:
            parts.append(f"{_n(missing, 'formule', 'formules')} zonder opgeslagen uitkomst")
        if parts:
            held.append(f"tabblad '{sheet}' bevat alleen " + " en ".join(parts))
    if held:
        return error("geen_leesbare_waarden",
                     "De werkmap bevat geen getallen of tekst die we kunnen lezen: " + "; ".join(held) + ".",
                     "Zet de gevraagde getallen zelf in de cellen (kopieer en kies 'Plakken speciaal' > 'Waarden'), "
                     "sla op als 'Excel-werkmap (*.xlsx)' en lever opnieuw aan.")
    return error("lege_werkmap", "De werkmap bevat geen gegevens.",
                 f"Vul de tabbladen uit het sjabloon van {source.naam} en lever opnieuw aan.")


def analyse(path: Path, source: Source, limits: Limits | None = None,
            organisation: Organisation | None = None) -> Analysis:
    """The whole check of one file for the organisation whose folder it came from
    (default: the source's first organisation)."""
    limits = limits or Limits()
    org = organisation or original(source.key)
    try:
        info = check_workbook(path, limits)
    except FileRefused as refused:
        return _rejected([refused.problem])
    try:
        grids = load_sheets_for(path, source)
    except (MemoryError, ImportError):
        raise                  # our limits, not the partner's file: the sandbox makes it a verwerkingsfout
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken file, reported, never a crash
        return _rejected([error("beschadigd", "Het bestand kan niet gelezen worden; het lijkt beschadigd.",
                                "Open het bestand in Excel om te controleren dat het werkt, sla het op als .xlsx en lever opnieuw aan.",
                                extra={"reader": type(exc).__name__})])
    if not grids or not any(g.has_content(lambda v: v is None or v == "") for g in grids.values()):
        return _rejected([_nothing_readable(info, source)])
    for name, grid in grids.items():
        width = grid.width
        if len(grid) > limits.max_rows or width > limits.max_columns:
            return _rejected([error("te_groot", f"Tabblad '{name}' is te groot ({_n(len(grid), 'regel', 'regels')}, "
                                    f"{_n(width, 'kolom', 'kolommen')}); "
                                    f"de grens is {limits.max_rows} regels en {limits.max_columns} kolommen.",
                                    "Lever alleen de gevraagde gegevens aan.", sheet=name)])
    located = locate(grids, source)             # sheets and headers found once, for the screen and the reader
    pii = screen_grids(located.grids, source, located.header_rows())
    if pii:
        return _rejected(pii, personal_data=True)
    read = read_workbook(located, source, info)
    problems = list(read.problems)
    summary = ValidationSummary()
    if read.sheets:
        more, summary = validate(source, read, org)
        problems.extend(more)
    periodes = read.periodes
    if read.sheets and not periodes and not any(p.is_error for p in problems):
        problems.append(error("geen_periode", "Er staat geen herkenbaar kwartaal in het bestand.",
                              "Vul de kolom 'periode' in, bijvoorbeeld met 2024-Q3."))
    counts = {sd.found_name: len(sd.frame) for sd in read.sheets.values()}
    if any(p.is_error for p in problems):
        return _rejected(problems, periodes=periodes, counts=counts, validation=summary, read=read)
    values = tidy_delivery(source, read, org)
    foreign = coverage_problems(values, org)
    if foreign:
        return _rejected(problems + foreign, periodes=periodes, counts=counts, validation=summary, read=read)
    problems.extend(unknown_figures(source, read, values))   # what the warnings above leave unknown
    return Analysis(accepted=True, problems=problems, periodes=periodes, counts=counts, values=values,
                    validation=summary, read=read)
