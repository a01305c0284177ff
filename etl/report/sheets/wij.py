"""WIJ per wijk: cases, duration, nazorg share with interval, referrals, children, group programmes.

Northern districts (the action plan's focus, ``include/wijken.csv``) come first with
their own subtotal; wijken are compared with the city at 99.8% because fourteen
wijken compared at 95% would flag one by chance about every other quarter. The interval
shown beside the share is the 99.8% one the verdict uses, so "vergelijkbaar" never
stands next to an interval that excludes the city value.
"""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.quarters import label_nl
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.protect import CITY, NOORD, OVERIG
from etl.report.sheets.common import paragraph, put_number, put_shown, source_sheet
from etl.report.sheets.veilig_thuis import COMPARE_STYLE
from etl.report.style import NOT_APPLICABLE, hidden_style, text_style

TITLE = "WIJ"
BRON = "wij"
COUNTS_A = ("casussen_nieuw", "casussen_actief", "casussen_afgesloten")
LEVEL_TEXT = "99,8%"  # stats.LEVEL_WIJK as a reader writes it
COUNTS_B = ("doorverwezen_veilig_thuis", "kinderen_betrokken", "groepsaanbod_groepen", "groepsaanbod_deelnemers")


def write(wb: Workbook, ctx: ReportContext) -> None:
    w, r = source_sheet(wb, ctx, TITLE, BRON, f"WIJ Groningen per wijk — {label_nl(ctx.periode)}",
                        "Casussen huiselijk geweld in de stad Groningen. Noordelijke wijken (focus van het actieplan) eerst, "
                        "met subtotaal. Nazorg-aandeel met 99,8%-interval: hetzelfde interval waarmee de wijk met de "
                        "stad wordt vergeleken ('hoger'/'lager' = het stadscijfer ligt buiten dat interval).",
                        "WIJ")
    cat = ctx.catalogue
    view = ctx.view
    header_row = r
    headers = ["Wijk", "Noordelijk", *[cat.label(BRON, c) for c in COUNTS_A],
               cat.label(BRON, "duur_mediaan_dagen"), cat.label(BRON, "duur_p90_dagen"),
               cat.label(BRON, "nazorg_aandeel"), f"{LEVEL_TEXT}-interval van", f"{LEVEL_TEXT}-interval tot",
               f"Vergeleken met stad ({LEVEL_TEXT})", cat.label(BRON, "nazorg_onbekend"), *[cat.label(BRON, c) for c in COUNTS_B]]
    w.header(r, headers)
    r += 1
    has_groups = view.get(BRON, *CITY, "groepsaanbod_groepen").value is not None or any(
        k[0] == BRON and k[3].startswith("groepsaanbod") for k in view.status)
    city_share = view.get(BRON, *CITY, "nazorg_aandeel").visible

    rows: list[tuple[str, str, str, str, bool]] = []  # gtype, code, name, row kind, northern
    for northern, sub, sub_name in ((True, NOORD, "Subtotaal noordelijke wijken"), (False, OVERIG, "Subtotaal overige wijken")):
        rows += [("wijk", wk.naam, wk.naam, "", northern) for wk in ctx.wijken if wk.noordelijk == northern]
        rows.append((*sub, sub_name, "sub", northern))
    rows.append((*CITY, "Totaal gemeente Groningen", "tot", False))

    for gtype, code, name, kind, northern in rows:
        w.put(r, 1, name, text_style(kind))
        w.put(r, 2, "ja" if northern and gtype == "wijk" else "", text_style(kind))
        col = 3
        for ind in COUNTS_A:
            put_shown(w, r, col, view.get(BRON, gtype, code, ind), "aantal", kind)
            col += 1
        for ind in ("duur_mediaan_dagen", "duur_p90_dagen"):
            if gtype == "wijkgroep":
                w.put(r, col, NOT_APPLICABLE, hidden_style(kind))
            else:
                put_shown(w, r, col, view.get(BRON, gtype, code, ind), "dagen", kind)
            col += 1
        share = view.get(BRON, gtype, code, "nazorg_aandeel")
        put_shown(w, r, col, share, "aandeel", kind)
        k = view.get(BRON, gtype, code, "nazorg_aantal").visible
        n = view.get(BRON, gtype, code, "nazorg_bekend").visible      # the share's n: nazorg known
        if share.visible is not None and k is not None and n:
            # The interval shown is the one the verdict uses (one level per comparison).
            iv = stats.wilson_interval(int(k), int(n), stats.LEVEL_WIJK)
            put_number(w, r, col + 1, iv.lower, "pct", kind)
            put_number(w, r, col + 2, iv.upper, "pct", kind)
            if gtype == "gemeente":
                w.put(r, col + 3, "(referentie)", hidden_style(kind))
            elif city_share is not None:
                verdict = stats.compare_share_to_reference(int(k), int(n), city_share, stats.LEVEL_WIJK)
                w.put(r, col + 3, verdict, COMPARE_STYLE[verdict] if not kind else text_style(kind))
            else:
                w.put(r, col + 3, NOT_APPLICABLE, hidden_style(kind))
        else:
            for c in (col + 1, col + 2, col + 3):
                put_number(w, r, c, None, "pct", kind, hidden=share.hidden, empty="ontbreekt")
        put_shown(w, r, col + 4, view.get(BRON, gtype, code, "nazorg_onbekend"), "aantal", kind)
        col += 5
        for ind in COUNTS_B:
            cell = view.get(BRON, gtype, code, ind)
            if cell.missing and ind.startswith("groepsaanbod") and has_groups and (BRON, gtype, code, ind) not in view.cells:
                w.put(r, col, NOT_APPLICABLE, hidden_style(kind))
            else:
                put_shown(w, r, col, cell, "aantal", kind)
            col += 1
        r += 1
    r += 1
    paragraph(w, r, "Duur: van start tot einde van de casussen die in het kwartaal zijn afgesloten; voor een subtotaal "
                    "is geen mediaan te berekenen uit de wijkcijfers (–). Groepsaanbod: – = geen groepsaanbod in deze "
                    "wijk gemeld.", last_col=len(headers), style="notitie_wrap", chars_per_line=220)
    w.fix_width(1, 28)
    w.finish(freeze=f"C{header_row + 1}", title_rows=f"1:{header_row}")
