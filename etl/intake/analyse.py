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
from etl.core.problems import Problem, error
from etl.core.sources import Source
from etl.intake.read import ReadResult, load_sheets_for, locate, read_workbook
from etl.intake.safety import FileRefused, check_workbook
from etl.intake.screen import screen_grids
from etl.intake.tidy import tidy_delivery
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


def analyse(path: Path, source: Source, limits: Limits | None = None) -> Analysis:
    limits = limits or Limits()
    try:
        info = check_workbook(path, limits)
    except FileRefused as refused:
        return _rejected([refused.problem])
    try:
        grids = load_sheets_for(path, source)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a broken file, reported, never a crash
        return _rejected([error("beschadigd", "Het bestand kan niet gelezen worden; het lijkt beschadigd.",
                                "Open het bestand in Excel om te controleren dat het werkt, sla het op als .xlsx en lever opnieuw aan.",
                                extra={"reader": type(exc).__name__})])
    if not grids or not any(g.has_content(lambda v: v is None or v == "") for g in grids.values()):
        return _rejected([error("lege_werkmap", "De werkmap bevat geen gegevens.",
                                f"Vul de tabbladen uit het sjabloon van {source.naam} en lever opnieuw aan.")])
    for name, grid in grids.items():
        width = grid.width
        if len(grid) > limits.max_rows or width > limits.max_columns:
            return _rejected([error("te_groot", f"Tabblad '{name}' is te groot ({len(grid)} regels, {width} kolommen); "
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
        more, summary = validate(source, read)
        problems.extend(more)
    periodes = read.periodes
    if read.sheets and not periodes and not any(p.is_error for p in problems):
        problems.append(error("geen_periode", "Er staat geen herkenbaar kwartaal in het bestand.",
                              "Vul de kolom 'periode' in, bijvoorbeeld met 2024-Q3."))
    counts = {sd.found_name: len(sd.frame) for sd in read.sheets.values()}
    if any(p.is_error for p in problems):
        return _rejected(problems, periodes=periodes, counts=counts, validation=summary, read=read)
    values = tidy_delivery(source, read)
    return Analysis(accepted=True, problems=problems, periodes=periodes, counts=counts, values=values,
                    validation=summary, read=read)
