"""Blank partner templates, generated from the source descriptions (``include/sources.yaml``).

``python -m etl template --source wij`` writes ``<out>/sjabloon_wij.xlsx``: an
instructions sheet in Dutch (``Toelichting``), one sheet per expected sheet with the
contract's headers, and Excel data validation so a partner picks ``periode``,
``gemeente``, ``wijk``, ja/nee and the allowed values of enum columns from a list
instead of guessing spellings. The lists live on a sheet ``Keuzelijsten`` that the
validations refer to (an inline list is limited to 255 characters).

Counts, dates and quarters get a *warning* validation, not a hard stop: ``<5`` is a
valid entry for a count the partner suppresses on a sheet of totals, the reader accepts
dates as text too, and quarters in more spellings than the list holds. Each data sheet
has a greyed example row under the header whose first cell is ``Voorbeeld``; the reader
skips such a row (``etl.intake.read.EXAMPLE_MARK``). The instructions say per sheet
whether ``<5`` is allowed: on sheets of totals yes, on case rows (a sheet with a
pseudonym column) no.
The template is what the reader accepts by construction: same sheet names, same
headers, same allowed values. It is reproducible (fixed document times, fixed zip
entry times) so regenerating it does not produce a "changed" file.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from etl.core.quarters import quarter_range
from etl.core.reference import gemeenten, wijken
from etl.core.sources import Sheet, Source, get_source
from etl.core.xlsx_safe import set_safe
from etl.intake.read import EXAMPLE_MARK
from etl.report.package import to_bytes, write_atomic
from etl.report.style import print_setup
from etl.tools.docs import TYPE_NL, _rule_nl

INSTRUCTIONS = "Toelichting"
LISTS = "Keuzelijsten"
ROWS = 2000  # rows that carry the validations
FIRST_QUARTER = "2023Q1"
STAMP = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # fixed: the template's content does not depend on the day

_HEAD = Font(name="Calibri", size=10, bold=True, color="FFFFFF")
_HEAD_FILL = PatternFill("solid", start_color="1F3864", end_color="1F3864")
_TITLE = Font(name="Calibri", size=14, bold=True, color="1F3864")
_BOLD = Font(name="Calibri", size=10, bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_EXAMPLE_FONT = Font(name="Calibri", size=10, italic=True, color="808080")
_EXAMPLE_FILL = PatternFill("solid", start_color="EDEDED", end_color="EDEDED")
EXAMPLE_ROW = 2  # the greyed example under the header; the reader skips it (first cell "Voorbeeld")

#: What a type means, as the template's prompts say it (the pick lists are on their own tab).
TYPE_PROMPT = {**TYPE_NL, "wijk": f"WIJ-gebied (kies uit de lijst in de cel; de lijst staat op het tabblad {LISTS})"}
#: Spellings the reader accepts besides the pick list (etl.intake.parse), said in the periode prompt.
PERIODE_SPELLINGS = "2024-Q3, 2024 Q3, Q3 2024, 2024K3 of 3e kwartaal 2024"


def case_rows(sheet: Sheet) -> bool:
    """A sheet with one row per case (it has a pseudonym column): no ``<5`` there.

    Shielding small numbers is the partner's choice only on sheets with totals (per
    municipality, wijk or the region); on case rows the monitor counts and shields itself.
    """
    return any(c.type == "id" for c in sheet.columns)


def shielding_text(sheet: Sheet) -> str:
    if case_rows(sheet):
        return ("Op dit tabblad staat één regel per casus: vul altijd het echte aantal in, nooit <5. De monitor "
                "schermt kleine aantallen zelf af in alles wat naar buiten gaat.")
    if sheet.count_columns:
        return ("Aantallen van 1 tot en met 4 mag u op dit tabblad zelf afschermen door <5 in te vullen "
                "(zoals in de grijze voorbeeldregel).")
    return ""


def example_values(sheet: Sheet) -> list[object]:
    """The greyed example row: what a filled-in row looks like; the first cell marks it."""
    wijk = wijken()[0].naam
    values: list[object] = []
    counts = [c.name for c in sheet.columns if c.type == "count"]
    lt5 = counts[-1] if counts and not case_rows(sheet) else None  # one shielded count, on sheets of totals
    for col in sheet.columns:
        if col.type == "periode":
            v: object = "2024Q3"
        elif col.type == "gemeente":
            v = gemeenten()[0].naam
        elif col.type == "wijk":
            v = wijk
        elif col.type == "count":
            v = "<5" if col.name == lt5 else (2 if case_rows(sheet) else 12)
        elif col.type == "number":
            v = 14.5
        elif col.type == "bool":
            v = "ja"
        elif col.type == "date":
            v = dt.date(2024, 7, 3) if not col.nullable else None
        elif col.type == "enum":
            v = col.allowed[0]
        elif col.type == "id":
            v = "C-0001"
        else:
            v = "Naam van het aanbod"
        values.append(v)
    values[0] = EXAMPLE_MARK
    return values


def _last_quarter(today: dt.date) -> str:
    return f"{today.year + 1}Q4"


def _lists(wb: Workbook, source: Source, today: dt.date) -> dict[str, str]:
    """Write the pick lists; returns list name -> absolute range reference for validations."""
    ws = wb.create_sheet(LISTS)
    columns: dict[str, list[str]] = {
        "periode": quarter_range(FIRST_QUARTER, _last_quarter(today)),
        "gemeente": [g.naam for g in gemeenten()],
        "wijk": [w.naam for w in wijken()],
        "ja/nee": ["ja", "nee"],
    }
    for sheet in source.sheets:
        for col in sheet.columns:
            if col.type == "enum":
                columns[f"{sheet.name}.{col.name}"] = list(col.allowed)
    refs: dict[str, str] = {}
    for c, (name, values) in enumerate(columns.items(), start=1):
        cell = ws.cell(row=1, column=c)
        set_safe(cell, name)
        cell.font = _BOLD
        for r, v in enumerate(values, start=2):
            set_safe(ws.cell(row=r, column=c), v)
        letter = get_column_letter(c)
        refs[name] = f"{quote_sheetname(LISTS)}!${letter}$2:${letter}${len(values) + 1}"
        ws.column_dimensions[letter].width = max(12, max(len(v) for v in [name, *values]) + 2)
    ws.freeze_panes = "A2"
    return refs


def _validation(col, refs: dict[str, str], sheet: Sheet) -> DataValidation | None:
    if col.type == "periode":
        # The reader accepts more spellings than the list holds: a warning, not a stop.
        dv = DataValidation(type="list", formula1=refs[col.type], allow_blank=col.nullable)
        dv.errorStyle = "warning"
        dv.error = (f"Kies een kwartaal uit de lijst (tabblad {LISTS}). Ook goed: {PERIODE_SPELLINGS}; "
                    "kies dan 'Ja' om door te gaan.")
    elif col.type in ("gemeente", "wijk"):
        dv = DataValidation(type="list", formula1=refs[col.type], allow_blank=col.nullable)
        dv.error = f"Kies een waarde uit de lijst (tabblad {LISTS})."
    elif col.type == "bool":
        dv = DataValidation(type="list", formula1=refs["ja/nee"], allow_blank=col.nullable)
        dv.error = "Kies ja of nee."
    elif col.type == "enum":
        dv = DataValidation(type="list", formula1=refs[f"{sheet.name}.{col.name}"], allow_blank=col.nullable)
        dv.error = f"Kies een van: {', '.join(col.allowed)}."
    elif col.type == "count":
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        dv.errorStyle = "warning"
        if case_rows(sheet):
            dv.error = "Vul het echte aantal in (0 of meer). Op regels per casus geen <5: de monitor schermt zelf af."
        else:
            dv.error = "Vul een heel getal in (0 of meer). Schermt u een aantal van 1 tot en met 4 af, vul dan <5 in."
    elif col.type == "number":
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        dv.errorStyle = "warning"
        dv.error = "Vul een getal in (0 of meer)."
    elif col.type == "date":
        dv = DataValidation(type="date", operator="greaterThanOrEqual", formula1="36526", allow_blank=col.nullable)
        dv.errorStyle = "warning"
        dv.error = "Vul een datum in (dd-mm-jjjj)."
    else:
        return None
    dv.errorTitle = f"Kolom {col.name}"
    dv.prompt = TYPE_PROMPT[col.type] + (f": {', '.join(col.allowed)}" if col.allowed else "")
    if col.type == "count" and case_rows(sheet):
        dv.prompt = "aantal (heel getal, 0 of meer; leeg = onbekend; geen <5 op regels per casus)"
    dv.promptTitle = col.name
    dv.showInputMessage = True
    dv.showErrorMessage = True
    return dv


def _data_sheet(wb: Workbook, sheet: Sheet, refs: dict[str, str]) -> None:
    ws = wb.create_sheet(sheet.name)
    for c, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=c)
        set_safe(cell, col.name)
        cell.font = _HEAD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = max(14, len(col.name) + 3)
        dv = _validation(col, refs, sheet)
        if dv is not None:
            dv.add(f"{letter}2:{letter}{ROWS + 1}")
            ws.add_data_validation(dv)
        if col.type == "date":
            ws.column_dimensions[letter].number_format = "DD-MM-YYYY"  # the column's style: no empty cells
    for c, v in enumerate(example_values(sheet), start=1):
        cell = ws.cell(row=EXAMPLE_ROW, column=c)
        set_safe(cell, v)
        cell.font = _EXAMPLE_FONT
        cell.fill = _EXAMPLE_FILL
        if isinstance(v, dt.date):
            cell.number_format = "DD-MM-YYYY"
    note = ws.cell(row=EXAMPLE_ROW, column=len(sheet.columns) + 1)
    set_safe(note, "← voorbeeldregel: wordt niet gelezen; laat staan of verwijder, en vul uw regels eronder in")
    note.font = _EXAMPLE_FONT
    ws.freeze_panes = "A2"


def _instructions(wb: Workbook, source: Source) -> None:
    ws = wb.create_sheet(INSTRUCTIONS, 0)
    types = {c.type for sh in source.sheets for c in sh.columns}
    picks = [name for name, t in (("periode", "periode"), ("gemeente", "gemeente"), ("wijk", "wijk"),
                                  ("ja/nee", "bool")) if t in types]
    if any(c.type == "enum" for sh in source.sheets for c in sh.columns):
        picks.append("de vaste waarden")
    pick_text = ", ".join(picks[:-1]) + " en " + picks[-1] if len(picks) > 1 else (picks[0] if picks else "")
    has_cases = any(case_rows(sh) for sh in source.sheets)
    rows: list[tuple[str, Font | None]] = [
        (f"Sjabloon {source.naam}: kwartaallevering monitor huiselijk geweld", _TITLE),
        ("", None),
        (f"Zet het ingevulde bestand (.xlsx) in de map inbox/{source.key}/, uiterlijk {source.deadline_dagen} "
         f"dagen na het einde van het kwartaal. Binnen een minuut staat een ontvangstbewijs in outbox/{source.key}/.",
         None),
        ("Vul op elk tabblad onder de kopregel één regel per combinatie in (zie hieronder). Laat de kopregel staan. "
         f"Regel {EXAMPLE_ROW} is een grijze voorbeeldregel (eerste cel '{EXAMPLE_MARK}'): die wordt niet gelezen; u "
         f"mag hem laten staan of verwijderen. Kies {pick_text} uit de keuzelijst in de cel (de lijsten staan op het "
         f"tabblad {LISTS}). Een kwartaal mag u ook anders schrijven: {PERIODE_SPELLINGS}.", None),
        (("Afschermen met <5 mag alleen op tabbladen met totalen (per gemeente, wijk of regio), niet op tabbladen "
          "met één regel per casus; per tabblad staat hieronder wat mag. " if has_cases else
          "Een aantal van 1 tot en met 4 mag u zelf afschermen door <5 in te vullen. ")
         + "Een onbekend aantal laat u leeg: leeg is 'onbekend', 0 is 'geen'.", None),
        ("Lever nooit gegevens die naar personen herleidbaar zijn: geen namen, BSN, geboortedata, adressen, "
         "postcodes met huisnummer, telefoonnummers of e-mailadressen. Zo'n bestand wordt in zijn geheel geweigerd.", _BOLD),
        ("Een verbeterd bestand levert u gewoon opnieuw aan: het vervangt dan de eerdere levering voor dat kwartaal.", None),
        ("", None),
    ]
    r = 1
    for text, font in rows:
        cell = ws.cell(row=r, column=1)
        set_safe(cell, text)
        cell.alignment = _WRAP
        if font is not None:
            cell.font = font
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=4)
        if len(text) > 160:
            ws.row_dimensions[r].height = 14 * math.ceil(len(text) / 160) + 2
        r += 1
    for sheet in source.sheets:
        status = "verplicht" if sheet.required else "verwacht (ontbreekt het, dan ontbreken die cijfers; geen 0)"
        title = f"Tabblad {sheet.name} — {status}"
        if sheet.available_from:
            title += f"; vanaf {sheet.available_from}"
        lines = [(title, _BOLD), (f"Eén regel per {' × '.join(sheet.key)}.", None)]
        if shielding_text(sheet):
            lines.append((shielding_text(sheet), None))
        for text, font in lines:
            cell = ws.cell(row=r, column=1)
            set_safe(cell, text)
            if font is not None:
                cell.font = font
            r += 1
        for c, head in enumerate(("Kolom", "Soort waarde", "Verplicht", "Ook herkend als"), start=1):
            cell = ws.cell(row=r, column=c)
            set_safe(cell, head)
            cell.font = _HEAD
            cell.fill = _HEAD_FILL
        r += 1
        for col in sheet.columns:
            kind = TYPE_PROMPT[col.type] + (f": {', '.join(col.allowed)}" if col.allowed else "")
            if col.type == "count" and case_rows(sheet):
                kind = "aantal (heel getal, 0 of meer; leeg = onbekend; geen <5)"
            if col.nullable:
                kind += "; mag leeg zijn"
            aliases = ", ".join(col.aliases)
            for c, v in enumerate((col.name, kind, "ja" if col.required else "nee", aliases), start=1):
                cell = ws.cell(row=r, column=c)
                set_safe(cell, v)
                cell.alignment = _WRAP
            lines = max(math.ceil(len(kind) / 64), math.ceil(len(aliases) / 54), 1)
            if lines > 1:
                ws.row_dimensions[r].height = 13 * lines + 2
            r += 1
        if sheet.rules:
            cell = ws.cell(row=r, column=1)
            set_safe(cell, "Controles: " + "; ".join(_rule_nl(rule) for rule in sheet.rules) + ".")
            cell.alignment = _WRAP
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=4)
            ws.row_dimensions[r].height = 30
            r += 1
        r += 1
    for letter, width in (("A", 30), ("B", 60), ("C", 10), ("D", 50)):
        ws.column_dimensions[letter].width = width
    ws.sheet_view.showGridLines = False


def build_template(source: str, today: dt.date | None = None) -> Workbook:
    src = get_source(source)
    wb = Workbook()
    wb.remove(wb.active)
    _instructions(wb, src)
    refs = _lists(wb, src, today or dt.date.today())
    for sheet in src.sheets:
        _data_sheet(wb, sheet, refs)
    # The lists sheet last, after the data sheets a partner fills in.
    wb.move_sheet(LISTS, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS))
    for ws in wb.worksheets:
        print_setup(ws, freeze=ws.freeze_panes, title_rows="1:1" if ws.title != INSTRUCTIONS else None)
    wb[INSTRUCTIONS].sheet_view.showGridLines = False
    for ws in wb.worksheets[1:]:
        ws.sheet_view.showGridLines = True  # a sheet to type in keeps its grid
    wb.active = 0
    wb.properties.creator = "Monitor huiselijk geweld (etl.tools.templates)"
    wb.properties.title = f"Sjabloon {src.naam}"
    return wb


def write_template(source: str, out_dir: Path) -> Path:
    """Write ``sjabloon_<source>.xlsx`` into ``out_dir`` (atomically) and return its path."""
    wb = build_template(source)
    return write_atomic(Path(out_dir) / f"sjabloon_{source}.xlsx", to_bytes(wb, STAMP))
