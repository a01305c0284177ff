"""Veilig Thuis per gemeente: counts, rates with interval, comparison with the region, kinds, melders."""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.protect import REGIO, QuarterView
from etl.report.sheets.common import paragraph, put_number, put_shown, section, source_sheet
from etl.report.style import SheetWriter, hidden_style, page_break_before, text_style

TITLE = "Veilig Thuis"
BRON = "veilig_thuis"
KINDS = ("meldingen_kindermishandeling", "meldingen_partnergeweld", "meldingen_ouderenmishandeling", "meldingen_overig")
MELDERS = ("melder_politie", "melder_professional", "melder_burger")
COMPARE_STYLE = {stats.HOGER: "vergelijk_hoger", stats.LAGER: "vergelijk_lager", stats.VERGELIJKBAAR: "vergelijk_gelijk"}


def _areas(ctx: ReportContext) -> list[tuple[str, str, str, str]]:
    """(gebied_type, code, name, row kind) for each municipality and the region total."""
    rows = [("gemeente", g.code, g.naam, "") for g in ctx.gemeenten]
    rows.append((*REGIO, "Regio totaal", "tot"))
    return rows


def _cell(view: QuarterView, gtype: str, code: str, ind: str):
    return view.get(BRON, gtype, code, ind), view.status.get((BRON, gtype, code, ind))


def write(wb: Workbook, ctx: ReportContext) -> None:
    w, r = source_sheet(wb, ctx, TITLE, BRON, f"Veilig Thuis per gemeente — {label_nl(ctx.periode)}",
                        "Meldingen per 1.000 inwoners met 95%-interval; 'hoger'/'lager' = de regio ligt buiten het "
                        "interval van de gemeente (95%). Hoger is niet per se slechter: het kan ook betere signalering zijn.",
                        "Veilig Thuis")
    ws = w.ws
    cat = ctx.catalogue
    view = ctx.view
    header_row = r
    region_meld = view.get(BRON, *REGIO, "meldingen_totaal")
    region_pop = ctx.region_population()
    region_rate = region_meld.visible / region_pop * 1000 if region_meld.visible is not None and region_pop else None

    # Block 1: meldingen, adviezen, rate, comparison.
    w.header(r, ["Gemeente", "Inwoners", cat.label(BRON, "adviezen"), cat.label(BRON, "meldingen_totaal"),
                 cat.label(BRON, "meldingen_per_1000"), "95%-interval van", "95%-interval tot",
                 "Vergeleken met regio (95%)", cat.label(BRON, "unieke_casussen"),
                 cat.label(BRON, "tijdelijke_huisverboden"), cat.label(BRON, "icm_trajecten_gestart"), "Opmerking"])
    r += 1
    for gtype, code, name, kind in _areas(ctx):
        pop = ctx.region_population() if gtype == "regio" else ctx.population(code)
        w.put(r, 1, name, text_style(kind))
        put_number(w, r, 2, pop, "count", kind, empty="ontbreekt")
        for col, ind in ((3, "adviezen"), (4, "meldingen_totaal")):
            _put(w, r, col, view, gtype, code, ind, kind)
        meld = view.get(BRON, gtype, code, "meldingen_totaal")
        note = ""
        if meld.visible is not None and pop:
            est = stats.rate_interval(int(meld.visible), pop)
            put_number(w, r, 5, est.rate, "dec1", kind)
            put_number(w, r, 6, est.lower, "dec1", kind)
            put_number(w, r, 7, est.upper, "dec1", kind)
            if est.few_events:
                note = "minder dan 10 meldingen: cijfer per 1.000 is een indicatie"
            if gtype == "regio":
                w.put(r, 8, "(referentie)", hidden_style(kind))
            elif region_rate is not None:
                verdict = stats.compare_to_reference(int(meld.visible), region_rate, pop, stats.LEVEL_GEMEENTE)
                w.put(r, 8, verdict, COMPARE_STYLE[verdict])
            else:
                w.put(r, 8, "–", hidden_style(kind))
        else:
            for c in (5, 6, 7, 8):
                put_number(w, r, c, None, "dec1", kind, hidden=meld.hidden, empty="ontbreekt")
        for col, ind in ((9, "unieke_casussen"), (10, "tijdelijke_huisverboden"), (11, "icm_trajecten_gestart")):
            _put(w, r, col, view, gtype, code, ind, kind)
        w.put(r, 12, note, "notitie_wrap" if note else text_style(kind))
        r += 1

    # Block 2: hermeldingen.
    r = section(w, r + 1, "Hermeldingen", last_col=12)
    w.header(r, ["Gemeente", cat.label(BRON, "meldingen_totaal"), cat.label(BRON, "hermeldingen"),
                 cat.label(BRON, "hermelding_aandeel"), "95%-interval van", "95%-interval tot",
                 "Vergeleken met regio (95%)"])
    r += 1
    region_share = view.get(BRON, *REGIO, "hermelding_aandeel").visible
    for gtype, code, name, kind in _areas(ctx):
        w.put(r, 1, name, text_style(kind))
        _put(w, r, 2, view, gtype, code, "meldingen_totaal", kind)
        _put(w, r, 3, view, gtype, code, "hermeldingen", kind)
        share = view.get(BRON, gtype, code, "hermelding_aandeel")
        put_shown(w, r, 4, share, "aandeel", kind)
        k, n = view.get(BRON, gtype, code, "hermeldingen").visible, view.get(BRON, gtype, code, "meldingen_totaal").visible
        if share.visible is not None and k is not None and n:
            iv = stats.wilson_interval(int(k), int(n))
            put_number(w, r, 5, iv.lower, "pct", kind)
            put_number(w, r, 6, iv.upper, "pct", kind)
            if gtype == "regio":
                w.put(r, 7, "(referentie)", hidden_style(kind))
            elif region_share is not None:
                verdict = stats.compare_share_to_reference(int(k), int(n), region_share, stats.LEVEL_GEMEENTE)
                w.put(r, 7, verdict, COMPARE_STYLE[verdict])
            else:
                w.put(r, 7, "–", hidden_style(kind))
        else:
            for c in (5, 6, 7):
                put_number(w, r, c, None, "pct", kind, hidden=share.hidden, empty="ontbreekt")
        r += 1

    # Blocks 3 and 4: kinds of violence and melders (each adds up to meldingen).
    for title, parts in (("Soort geweld", KINDS), ("Melders", MELDERS)):
        if parts is KINDS:
            page_break_before(ws, r + 1)
        r = section(w, r + 1, title, last_col=12)
        w.header(r, ["Gemeente", *[cat.label(BRON, p) for p in parts], cat.label(BRON, "meldingen_totaal")])
        r += 1
        for gtype, code, name, kind in _areas(ctx):
            w.put(r, 1, name, text_style(kind))
            for offset, ind in enumerate((*parts, "meldingen_totaal")):
                _put(w, r, 2 + offset, view, gtype, code, ind, kind)
            r += 1

    # Block 5: region-level throughput, as a list (long names, one area).
    r = section(w, r + 1, "Veiligheidsbeoordelingen en wachtlijst (regio)", last_col=12)
    w.header(r, ["Kenmerk", "Waarde", "95%-interval van", "95%-interval tot"])
    r += 1
    for ind in ("veiligheidsbeoordelingen", "binnen_5_werkdagen"):
        w.put(r, 1, cat.label(BRON, ind), "tekst_wrap")
        _put(w, r, 2, view, *REGIO, ind)
        r += 1
    share = view.get(BRON, *REGIO, "binnen_5_werkdagen_aandeel")
    w.put(r, 1, cat.label(BRON, "binnen_5_werkdagen_aandeel"), "tekst_wrap")
    put_shown(w, r, 2, share, "aandeel")
    k = view.get(BRON, *REGIO, "binnen_5_werkdagen").visible
    n = view.get(BRON, *REGIO, "veiligheidsbeoordelingen").visible
    if share.visible is not None and k is not None and n:
        iv = stats.wilson_interval(int(k), int(n))
        put_number(w, r, 3, iv.lower, "pct")
        put_number(w, r, 4, iv.upper, "pct")
    else:
        put_number(w, r, 3, None, "pct", hidden=share.hidden, empty="ontbreekt")
        put_number(w, r, 4, None, "pct", hidden=share.hidden, empty="ontbreekt")
    r += 1
    w.put(r, 1, cat.label(BRON, "wachtlijst_einde_kwartaal"), "tekst_wrap")
    _put(w, r, 2, view, *REGIO, "wachtlijst_einde_kwartaal")
    r += 2
    paragraph(w, r, "Inwoners: CBS, 1 januari van het jaar. De landelijke norm voor veiligheidsbeoordelingen is 90% "
                    "binnen 5 werkdagen.", last_col=12, style="notitie_wrap", chars_per_line=200)
    w.fix_width(1, 26)
    w.fix_width(12, 34)
    w.finish(freeze=f"B{header_row + 1}", title_rows=f"1:{header_row - 1}")


def _put(w: SheetWriter, row: int, col: int, view: QuarterView, gtype: str, code: str, ind: str,
         kind: str = "") -> None:
    cell, status = _cell(view, gtype, code, ind)
    put_shown(w, row, col, cell, "aantal", kind, status)
