"""WIJ per wijk: cases, duration, nazorg share with interval, referrals, children, group programmes.

Northern districts (the action plan's focus, ``include/wijken.csv``) come first with
their own subtotal; wijken are compared with the city at 99.8% because fourteen
wijken compared at 95% would flag one by chance about every other quarter. The interval
shown beside the share is the 99.8% one the verdict uses, so "vergelijkbaar" never
stands next to an interval that excludes the city value.
"""

from __future__ import annotations

from openpyxl.workbook import Workbook

from etl.core.organisations import has_several, organisations
from etl.core.quarters import label_nl
from etl.core.reference import wijken_of
from etl.report import stats
from etl.report.context import ReportContext
from etl.report.protect import CITY, NOORD, OVERIG
from etl.report.sheets.common import paragraph, put_number, put_shown, section, source_sheet
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
    city_wijken = wijken_of(CITY[1])

    rows: list[tuple[str, str, str, str, str]] = []  # gtype, code, name, row kind, second column
    for northern, sub, sub_name in ((True, NOORD, "Subtotaal noordelijke wijken"), (False, OVERIG, "Subtotaal overige wijken")):
        rows += [("wijk", wk.naam, wk.naam, "", "ja" if northern else "") for wk in city_wijken if wk.noordelijk == northern]
        rows.append((*sub, sub_name, "sub", ""))
    rows.append((*CITY, "Totaal gemeente Groningen", "tot", ""))
    for gtype, code, name, kind, second in rows:
        _case_row(w, ctx, r, gtype, code, name, kind, second, city_share, stats.LEVEL_WIJK, has_groups)
        r += 1
    r += 1
    paragraph(w, r, "Duur: van start tot einde van de casussen die in het kwartaal zijn afgesloten; voor een subtotaal "
                    "is geen mediaan te berekenen uit de wijkcijfers (–). Groepsaanbod: – = geen groepsaanbod in deze "
                    "wijk gemeld.", last_col=len(headers), style="notitie_wrap", chars_per_line=220)
    r += 2
    if has_several(BRON):
        r = _region_table(w, ctx, r, headers, has_groups)
    w.fix_width(1, 30)
    w.finish(freeze=f"C{header_row + 1}", title_rows=f"1:{header_row}")


def _region_table(w, ctx: ReportContext, r: int, city_headers: list[str], has_groups: bool) -> int:
    """Per municipality its local team (WIJ Groningen for the city), then the region.

    Every organisation of include/organisaties.yaml has a row, delivered or not, so a
    missing local team is visible as such; the region total is only shown when all
    delivered (etl.store.regions), the sum of what did arrive is labelled as that.
    """
    view = ctx.view
    r = section(w, r, f"Per gemeente: WIJ Groningen en de lokale teams — {label_nl(ctx.periode)}", last_col=len(city_headers))
    paragraph(w, r, "Elke gemeente heeft een eigen team dat dezelfde casusregistratie aanlevert. Nazorg-aandeel met "
                    "95%-interval; 'hoger'/'lager' = het regiocijfer ligt buiten dat interval. Een team dat (nog) niet "
                    "leverde staat als 'ontbreekt': dat is geen 0.", last_col=len(city_headers), chars_per_line=220)
    r += 1
    headers = ["Gemeente", "Team geleverd?", *city_headers[2:]]
    headers[8] = "95%-interval van"
    headers[9] = "95%-interval tot"
    headers[10] = "Vergeleken met regio (95%)"
    w.header(r, headers)
    r += 1
    delivered = {d.organisatie for d in ctx.current_deliveries if d.bron == BRON}
    complete = not ctx.missing_organisations.get(BRON)
    region_code = "regio" if complete else "geleverd"
    region_share = view.get(BRON, "regio", region_code, "nazorg_aandeel").visible
    for org in organisations(BRON):
        code = org.home
        name = ctx.gemeente_naam(code)
        _case_row(w, ctx, r, "gemeente", code, name, "", "ja" if org.code in delivered else "nee",
                  region_share, stats.LEVEL_GEMEENTE, has_groups, reference="regio")
        r += 1
    n_have = len([o for o in organisations(BRON) if o.code in delivered])
    label = ("Totaal regio" if complete else
             f"Totaal geleverde teams ({n_have} van {len(organisations(BRON))})")
    _case_row(w, ctx, r, "regio", region_code, label, "tot", "", region_share, stats.LEVEL_GEMEENTE, has_groups,
              reference="regio")
    r += 1
    if not complete:
        _case_row(w, ctx, r, "regio", "regio", "Totaal regio", "tot", "", None, stats.LEVEL_GEMEENTE, has_groups,
                  reference="regio")
        r += 1
        lacking = ", ".join(o.naam for o in ctx.missing_organisations[BRON])
        r += 1
        r = paragraph(w, r, f"Het totaal van de regio ontbreekt zolang niet alle teams geleverd hebben; nog geen levering "
                            f"van: {lacking}. 'Totaal geleverde teams' is de som van wat er wel is, geen regiocijfer.",
                      last_col=len(headers), style="notitie_wrap", chars_per_line=220)
    return r


def _case_row(w, ctx: ReportContext, r: int, gtype: str, code: str, name: str, kind: str, second: str,
              reference_share: float | None, level: float, has_groups: bool, reference: str = "stad") -> None:
    view = ctx.view
    w.put(r, 1, name, text_style(kind))
    w.put(r, 2, second, text_style(kind))
    col = 3
    for ind in COUNTS_A:
        put_shown(w, r, col, view.get(BRON, gtype, code, ind), "aantal", kind, view.status.get((BRON, gtype, code, ind)))
        col += 1
    for ind in ("duur_mediaan_dagen", "duur_p90_dagen"):
        if gtype in ("wijkgroep", "regio"):
            w.put(r, col, NOT_APPLICABLE, hidden_style(kind))
        else:
            put_shown(w, r, col, view.get(BRON, gtype, code, ind), "dagen", kind)
        col += 1
    share = view.get(BRON, gtype, code, "nazorg_aandeel")
    put_shown(w, r, col, share, "aandeel", kind)
    k = view.get(BRON, gtype, code, "nazorg_aantal").visible
    n = view.get(BRON, gtype, code, "nazorg_bekend").visible      # the share's n: nazorg known
    is_reference = (gtype == "gemeente" and reference == "stad") or gtype == "regio"
    if share.visible is not None and k is not None and n:
        # The interval shown is the one the verdict uses (one level per comparison).
        iv = stats.wilson_interval(int(k), int(n), level)
        put_number(w, r, col + 1, iv.lower, "pct", kind)
        put_number(w, r, col + 2, iv.upper, "pct", kind)
        if is_reference:
            w.put(r, col + 3, "(referentie)", hidden_style(kind))
        elif reference_share is not None:
            verdict = stats.compare_share_to_reference(int(k), int(n), reference_share, level)
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
