"""The workbook as its readers see it: rendered by LibreOffice, read page by page (issue 13).

Every page of the PDF is checked for English words and dataset codes; every printed
cell is checked for text wider than its column or taller than its row (computed from
the workbook's column widths, row heights and cell texts in ``tests.report.layout``);
and every page of a long table must repeat that table's header row. Skips with a
reason when LibreOffice or poppler is absent (``scripts/ensure-services.sh`` installs
them where it can).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from etl.core.catalogue import load_catalogue
from etl.core.config import SOURCES, DataDirs
from etl.report import SHEET_ORDER, build_workbook
from tests.report.layout import (
    clipped_in_pdf,
    cut_off_cells,
    english_words,
    pages_by_sheet,
    snake_codes,
)
from tests.report.test_report import copy_store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PERIODE = "2024Q4"
MADE_AT = dt.datetime(2025, 1, 5, 6, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
#: Sheets whose one table runs over several printed pages, with words of its header row.
LONG_TABLES = {
    "Data": ("Kwartaal", "Soort gebied", "Waarde", "Status", "Afscherming"),
    "Definities": ("Indicator", "Bron", "Eenheid", "Definitie", "Formule"),
}


def _tools() -> tuple[str, str, str]:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc (scripts/ensure-services.sh)")
    pdftotext, pdfinfo = shutil.which("pdftotext"), shutil.which("pdfinfo")
    if pdftotext is None or pdfinfo is None:
        pytest.skip("poppler-utils (pdftotext, pdfinfo) is not installed: apt-get install poppler-utils")
    return soffice, pdftotext, pdfinfo


def render_pdf(xlsx: Path, out: Path) -> Path:
    soffice, _, _ = _tools()
    profile = out / "lo-profile"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "pdf",
         "--outdir", str(out), str(xlsx)], capture_output=True, text=True, timeout=300)
    pdf = out / (xlsx.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    return pdf


def page_texts(pdf: Path) -> list[str]:
    _, pdftotext, pdfinfo = _tools()
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run([pdftotext, "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout for i in range(1, pages + 1)]


@pytest.fixture(scope="module")
def rendered(ingested_samples, tmp_path_factory) -> tuple[Path, list[str]]:
    _tools()
    src, _ = ingested_samples
    root = tmp_path_factory.mktemp("render")
    dirs: DataDirs = copy_store(src, root / "data")
    xlsx = build_workbook(PERIODE, dirs, made_at=MADE_AT)
    return xlsx, page_texts(render_pdf(xlsx, root))


def test_every_sheet_is_printed_and_every_page_is_named(rendered):
    _, pages = rendered
    names = pages_by_sheet(pages)
    assert all(names), [i + 1 for i, n in enumerate(names) if not n]
    assert list(dict.fromkeys(names)) == list(SHEET_ORDER)


def test_no_english_words_or_codes_on_any_page(rendered):
    _, pages = rendered
    keys = {i.key for i in load_catalogue().indicators.values()}
    sources = set(SOURCES)  # the delivery's Kenmerk in the Data sheet starts with it
    found = {}
    for number, (sheet, text) in enumerate(zip(pages_by_sheet(pages), pages, strict=True), start=1):
        words = english_words(text)
        # Indicator keys are allowed only where they are labelled as keys (for traceability).
        # Text in quotes is the partner's own header or value, quoted as it stands in their
        # file ("in de kolom 'meldingen_ouderenmishandeling' staat '<5'"): not our words.
        own = re.sub(r"'[^']{0,80}'", "", text)
        codes = snake_codes(own) - (keys | sources if sheet in ("Data", "Definities") else set())
        if words or codes:
            found[f"pagina {number} ({sheet})"] = sorted({*words, *codes})
    assert not found, found


def test_no_cell_is_cut_off(rendered):
    """Computed from column widths and texts, and seen in the PDF (clipped text is left out of it)."""
    xlsx, pages = rendered
    wb = openpyxl.load_workbook(xlsx)
    cut = [str(c) for ws in wb.worksheets for c in cut_off_cells(ws)]
    assert not cut, "\n".join(cut)
    names = pages_by_sheet(pages)
    clipped = [c for ws in wb.worksheets
               for c in clipped_in_pdf(ws, "\n".join(t for n, t in zip(names, pages, strict=True) if n == ws.title))]
    assert not clipped, "\n".join(clipped)


def test_long_tables_repeat_their_header_row_on_every_page(rendered):
    _, pages = rendered
    names = pages_by_sheet(pages)
    for sheet, words in LONG_TABLES.items():
        own = [text for name, text in zip(names, pages, strict=True) if name == sheet]

        def has_header(text: str, words: tuple[str, ...] = words) -> bool:
            return any(all(w in line for w in words[:3]) for line in text.splitlines())

        start = next((n for n, text in enumerate(own) if has_header(text)), None)
        assert start is not None, f"{sheet}: table header not printed"
        table_pages = own[start:]  # the long table is the sheet's last table: it runs to the end
        assert len(table_pages) >= 2, f"{sheet}: the table fits on one page, the check proves nothing"
        missing = [start + n + 1 for n, text in enumerate(table_pages) if not has_header(text)]
        assert not missing, f"{sheet}: pages {missing} of the sheet have no header row"


def test_checker_finds_a_cut_off_cell_and_english(tmp_path):
    """The checks can fail: a narrow column with long text, an English status."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "2. Eerder signaleren en melden"
    ws["B1"] = "naast"
    ws.column_dimensions["A"].width = 22
    ws["A2"] = 1234567.0
    ws["A2"].number_format = "#,##0"
    ws.column_dimensions["A"].width = 6
    assert {c.cell for c in cut_off_cells(ws)} == {"A1", "A2"}
    ws["B1"] = None  # an empty neighbour: the text runs on, as it does on screen and paper
    assert {c.cell for c in cut_off_cells(ws)} == {"A2"}
    assert "suppressed_by_partner" in english_words("status suppressed_by_partner")
    assert english_words("Het totaal ontbreekt, geen 0.") == []
