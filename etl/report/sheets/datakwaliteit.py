"""Datakwaliteit: per delivery the checks run and passed, accepted warnings, partner-suppressed cells."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.problems import format_rows
from etl.core.quarters import label_nl
from etl.report.context import ReportContext, local_time, problem_cells
from etl.report.sheets.common import paragraph, section
from etl.report.style import SheetWriter

TITLE = "Datakwaliteit"


def _first(d: dict, *names: str):
    """The first of ``names`` present in ``d`` (the validation summary may get Dutch keys)."""
    for n in names:
        if n in d:
            return d[n]
    return None


def failed_text(failed: list) -> str:
    """One column: ``geen``, or the number and the checks (never ``0`` beside ``geen``)."""
    if not failed:
        return "geen"
    return f"{len(failed)}: " + "; ".join(str(f) for f in failed)


def _cells_text(cells: list[str], limit: int = 12) -> str:
    if len(cells) <= limit:
        return ", ".join(cells)
    return ", ".join(cells[:limit]) + f" en nog {len(cells) - limit}"


def write(wb: Workbook, ctx: ReportContext) -> None:
    ws = wb.create_sheet(TITLE)
    w = SheetWriter(ws)
    r = w.title(f"Datakwaliteit — {label_nl(ctx.periode)}",
                "Per levering: de controles (verwachtingen) die zijn uitgevoerd en geslaagd, de waarschuwingen die "
                "zijn geaccepteerd en de cellen die de partner zelf als <5 aanleverde.", legend=False)
    header_row = r
    q = ctx.dataset
    partner_rows = q[(q["status"] == "suppressed_by_partner") & (q["gebied_type"] != "regio")]
    w.header(r, ["Bron", "Bestand", "Ontvangen op", "Gebruikt", "Controles uitgevoerd", "Geslaagd",
                 "Niet geslaagde controles", "Waarschuwingen", "Door partner afgeschermde cellen"])
    r += 1
    for d in ctx.deliveries:
        v = d.validatie or {}
        failed = _first(v, "failed", "niet_geslaagd", "mislukt") or []
        n_partner = int((partner_rows["levering_id"] == d.levering_id).sum()) if d.actueel else None
        w.row(r, [(ctx.organisation_name(d), "tekst"), (d.bestandsnaam, "tekst"), (local_time(d.ontvangen_op), "tekst"),
                  ("ja" if d.actueel else "nee (vervangen)", "tekst"),
                  (_first(v, "evaluated", "uitgevoerd"), "metagetal"), (_first(v, "passed", "geslaagd"), "metagetal"),
                  # Centred when "geen", so it does not read as one with the count beside it.
                  (failed_text(failed), "vergelijk_gelijk" if not failed else "tekst_wrap"),
                  (len(d.warnings), "metagetal"), (n_partner, "metagetal")])
        r += 1
    for bron in ctx.missing_sources:
        w.row(r, [(ctx.source_name(bron), "vet"), ("ontbreekt — geen 0", "vet")])
        r += 1
    for lacking in ctx.missing_organisations.values():
        for org in lacking:
            w.row(r, [(org.naam, "vet"), ("ontbreekt — geen 0", "vet")])
            r += 1

    r = section(w, r + 1, "Geaccepteerde waarschuwingen", last_col=10)
    w.header(r, ["Bron", "Melding", "Tabblad", "Kolom", "Cellen", "Rijen (Excel)"])
    r += 1
    any_warning = False
    for d in ctx.current_deliveries:
        for p in d.warnings:
            any_warning = True
            w.row(r, [(ctx.organisation_name(d), "tekst_wrap"), (p.get("message", ""), "tekst_wrap"),
                      (p.get("sheet") or "", "tekst_wrap"), (_column_label(ctx, d.bron, p.get("column")), "tekst_wrap"),
                      (_cells_text(problem_cells(p)), "tekst_wrap"), (format_rows(p.get("rows") or []), "tekst_wrap")])
            r += 1
    if not any_warning:
        w.put(r, 1, "Geen waarschuwingen bij de gebruikte leveringen.", "tekst", measure=False)
        r += 1

    r = section(w, r + 1, "Door de partner afgeschermde cellen (aangeleverd als <5)", last_col=10)
    w.header(r, ["Bron", "Gebied", "Indicator"])
    r += 1
    if partner_rows.empty:
        w.put(r, 1, "Geen.", "tekst", measure=False)
        r += 1
    for row in partner_rows.itertuples(index=False):
        gebied = ctx.gemeente_naam(row.gebied_code) if row.gebied_type == "gemeente" else row.gebied_code
        w.row(r, [(ctx.source_name(row.bron), "tekst"), (gebied, "tekst"),
                  (ctx.catalogue.label(row.bron, row.indicator), "tekst")])
        r += 1
    r += 1
    paragraph(w, r, "Een door de partner afgeschermde cel telt niet mee in het regiototaal van die indicator: dat totaal "
                    "staat als x. Getallen op dit tabblad tellen controles en cellen, geen personen.",
              last_col=8, style="notitie_wrap", chars_per_line=150)
    w.fix_width(1, 28)
    w.fix_width(2, 40)
    w.fix_width(3, 16)
    w.fix_width(7, 34)
    w.fix_width(6, 18)
    w.finish(freeze=f"A{header_row + 1}", title_rows=f"1:{header_row}")


def _column_label(ctx, bron: str, column: str | None) -> str:
    """The column in words: the indicator's label when the partner's header is its key
    (a code like ``meldingen_ouderenmishandeling`` neither reads nor wraps), else as written."""
    if not column:
        return ""
    key = column.strip().lower().replace(" ", "_")
    try:
        return ctx.catalogue.label(bron, key)
    except KeyError:
        return column
