"""Samenvatting per actielijn: the key indicators with interval, history and the XmR verdict."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.keyfigures import NOT_YET, KeyFigure, Point
from etl.report.sheets.common import UNIT_TEXT, paragraph, put_number
from etl.report.style import KIND_FORMAT, MISSING_TEXT, SheetWriter, hidden_style

TITLE = "Samenvatting"

VERDICT_STYLE = {
    stats.VERBETERING: "oordeel_verbetering",
    stats.AANDACHTSPUNT: "oordeel_aandachtspunt",
    stats.SIGNAAL: "oordeel_signaal",
    stats.GEEN_SIGNIFICANTE_VERANDERING: "oordeel_geen",
    stats.ONVOLDOENDE_GEGEVENS: "oordeel_geen",
}

EXPLAIN = (
    "Oordeel: 'verbetering' of 'aandachtspunt' alleen als de trend over acht kwartalen een signaal geeft "
    "(regelkaart, zie Trends en Definities) waar het laatste kwartaal deel van uitmaakt, in de gewenste of juist de "
    "ongewenste richting. 'Signaal' = echte verandering bij een indicator zonder gewenste richting. "
    "'Geen significante verandering' = de schommeling past bij toeval, ook als het getal hoger of lager is dan vorig kwartaal.",
    "Met minder dan 12 kwartalen zijn de grenzen voorlopig. Cijfers op minder dan 10 gebeurtenissen zijn een indicatie. "
    "Het 95%-interval: aantallen en cijfers per 1.000 volgens Byar (exact onder 10), percentages volgens Wilson.",
)

HEADERS_FIXED = ["Kernindicator", "Gebied", "Eenheid"]


def _value(w: SheetWriter, row: int, col: int, p: Point | None, soort: str) -> None:
    if p is None or (p.value is None and p.shown is None):
        text = MISSING_TEXT if p is None or not p.note else ("nog niet" if p.note == NOT_YET else p.note)
        w.put(row, col, text, hidden_style())
    elif p.value is None:
        w.put(row, col, p.shown, hidden_style())
    else:
        w.put(row, col, p.value, KIND_FORMAT[soort])


def warning_note(ctx: ReportContext, k: KeyFigure) -> str:
    """Why a key figure is ``ontbreekt`` when a warning on its delivery made it so ("" otherwise)."""
    cur = k.current
    if cur.value is not None or cur.shown is not None or cur.note not in ("", MISSING_TEXT):
        return ""
    inputs = (k.spec.indicator, k.spec.teller, k.indicator.teller, k.indicator.noemer, *(k.spec.delen or ()))
    for name in inputs:
        if name and (note := ctx.warning_note(k.spec.bron, name)):
            return note
    return ""


def notes(k: KeyFigure, ctx: ReportContext | None = None) -> str:
    parts = []
    if k.current.few_events:
        parts.append("minder dan 10: indicatie")
    if ctx is not None and (why := warning_note(ctx, k)):
        parts.append(why)
    if k.current.note and k.current.note != MISSING_TEXT:
        parts.append(k.current.note)
    if k.limits_note:
        parts.append(k.limits_note)
    return "; ".join(parts)


def write(wb: Workbook, ctx: ReportContext, figures: list[KeyFigure]) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Samenvatting per actielijn — {label_nl(ctx.periode)}",
                "Kernindicatoren van het actieplan. Het oordeel rust op de trend over acht kwartalen, "
                "niet op het verschil met vorig kwartaal.")
    header_row = r
    headers = HEADERS_FIXED + [f"{ctx.periode}", "95%-interval van", "95%-interval tot",
                               f"Vorig kwartaal ({ctx.previous})", f"Vorig jaar ({ctx.last_year})",
                               "Gewenste richting", "Trendsignaal", "Oordeel", "Toelichting"]
    w.header(r, headers)
    r += 1
    by_line: dict[int, list[KeyFigure]] = {}
    for k in figures:
        by_line.setdefault(k.spec.actielijn, []).append(k)
    ncols = len(headers)
    for line, name in ctx.catalogue.actielijnen.items():
        w.put(r, 1, f"Actielijn {line}: {name}", "actielijn", measure=False)
        for c in range(2, ncols + 1):
            w.put(r, c, None, "actielijn")
        r += 1
        for k in by_line.get(line, []):
            soort = k.indicator.soort
            cur = k.current
            w.put(r, 1, k.indicator.label, "tekst_wrap")
            w.put(r, 2, ctx.catalogue.gebieden[k.spec.gebied], "tekst_wrap")
            w.put(r, 3, UNIT_TEXT[soort], "tekst_wrap")
            _value(w, r, 4, cur, soort)
            fmt = KIND_FORMAT[soort] if soort != "aantal" else "dec1"
            lo, hi = cur.interval if cur.interval else (None, None)
            put_number(w, r, 5, lo, fmt, hidden=cur.value is None and cur.shown is not None)
            put_number(w, r, 6, hi, fmt, hidden=cur.value is None and cur.shown is not None)
            _value(w, r, 7, k.at(ctx.previous), soort)
            _value(w, r, 8, k.at(ctx.last_year), soort)
            w.put(r, 9, ctx.catalogue.richtingen[k.spec.richting], "tekst_wrap")
            w.put(r, 10, k.signal_text, "tekst_wrap")
            w.put(r, 11, k.verdict, VERDICT_STYLE.get(k.verdict, "tekst"))
            w.put(r, 12, notes(k, ctx), "notitie_wrap")
            r += 1
    r += 1
    for text in EXPLAIN:
        r = paragraph(w, r, text, last_col=ncols, chars_per_line=170, style="notitie_wrap")
    for col, width in ((1, 30), (2, 17), (3, 12), (4, 10), (5, 10), (6, 10), (7, 11), (8, 11), (9, 13), (10, 27),
                       (11, 15), (12, 27)):
        w.fix_width(col, width)
    w.finish(freeze=f"B{header_row + 1}", title_rows=f"1:{header_row}")
