"""Is this file a safe, readable .xlsx? Decided before any parser touches it.

An .xlsx is a zip of XML parts. Hostile or broken files are refused here, cheaply,
with a Dutch problem a partner understands: wrong format, password, macros, a zip
bomb (sizes are counted while decompressing, not trusted from the zip directory),
XML with a DOCTYPE (entity expansion attacks; a real workbook never has one).

The same single decompression pass records which sheets hold formulas without a
cached value, because the fast reader cannot tell such a cell from an empty one, and
bounds the work by what each sheet really holds: the cells it has and the furthest cell
reference among them (``_SheetScan``). A reader builds a dense grid up to the furthest cell,
so a single cell at XFD1048576 asks for 2^34 cells; such a sheet is refused here, before
any reader runs, with the far cell named. The ``<dimension>`` tag is recorded but never
trusted: the cell references decide.

What a file *is* comes from its bytes, not its name (``sniff``): a CSV, HTML page,
SpreadsheetML-2003 or flat-ODS XML file, SYLK, PDF, BIFF ``.xls``, ``.ods``, ``.xlsb`` or
Numbers file renamed to ``.xlsx`` gets the message for what it is. Zip layouts that Excel
and calamine open (``xl\\workbook.xml`` with backslashes, a lower-case
``[content_types].xml``, parts at the zip root) are looked up case- and
separator-insensitively and read.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from defusedxml import ElementTree as SafeET

from etl.core.config import Limits
from etl.core.problems import Problem, error

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_CHUNK = 1 << 20
# Element tags with or without a namespace prefix (``<row``, ``<x:row``: .NET exporters write
# prefixes). Plain substring counts: ``bytes.count`` runs at memory speed, a regex does not.
# (A ``<row>`` without attributes escapes this count; etl.intake.analyse checks the loaded grid again.)
_ROW_TAGS = (b"<row ", b":row ")
_CELL_TAGS = (b"<c ", b"<c>", b":c ", b":c>")
_FORMULA_TAGS = (b"<f", b":f")
# A cell that holds something (not self-closing: ``<c r="A9" s="0"/>`` is formatting only, the
# readers skip it) and its reference. A row's number counts when its first cell has no ``r``
# and holds something: such cells are placed in their row by position.
# A cell with content: its reference; a self-closing ``<c r="A1" s="1"/>`` (style only) is not matched.
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>')
# The same for the way Excel, LibreOffice and openpyxl write every cell (``<c r="..."`` first):
# a literal prefix the regex engine finds fast. Used only when every cell tag of a window has it.
_CELL_REF_PLAIN = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>')
_PLAIN_CELL = b'<c r="'
_ROW_REF = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]{1,7})"[^>]*>\s*<(?:\w+:)?c(?:\s(?![^>]*\br=")[^>]*[^/>])?>')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s[^>]*?\bref="([A-Za-z0-9:$]+)"')
_ERROR_CELL = b' t="e"'
_ARRAY_FORMULA = b't="array"'
_TAIL = 512
#: A sheet is refused when its bounding box (first to furthest cell) holds more than
#: FAR_FACTOR times its cells *and* more than FAR_CAP cells. A reader allocates the whole box
#: (about 45 bytes a cell in Python), so the cap bounds memory near 100 MB, while a real
#: delivery (a few thousand cells) and a dense big sheet (box close to its cells) pass.
FAR_FACTOR = 10
FAR_CAP = 2_000_000


def _count(data: bytes, tags: tuple[bytes, ...]) -> int:
    return sum(data.count(t) for t in tags)


def _count_rows(data: bytes) -> int:
    return _count(data, _ROW_TAGS)


def column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode("ascii"):
        n = n * 26 + ord(ch.upper()) - 64
    return n


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class FileRefused(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class SheetScan:
    """What one sheet's XML really holds, counted while streaming it."""

    cells: int = 0
    min_row: int = 0
    max_row: int = 0
    min_col: int = 0
    max_col: int = 0
    far_cell: str = ""              # the cell whose box from A1 is the largest
    far_area: int = 0
    dimension: str | None = None    # what the sheet claims; recorded, not trusted
    error_cells: int = 0
    array_formulas: int = 0

    def see(self, row: int, col: int) -> None:
        self._extend(row, row, col, col)
        if row * col > self.far_area:
            self.far_area, self.far_cell = row * col, f"{column_letters(col)}{row}"

    def _extend(self, lo_row: int, hi_row: int, lo_col: int, hi_col: int) -> None:
        if not self.max_row:
            self.min_row, self.max_row, self.min_col, self.max_col = lo_row, hi_row, lo_col, hi_col
        else:
            self.min_row, self.max_row = min(self.min_row, lo_row), max(self.max_row, hi_row)
            self.min_col, self.max_col = min(self.min_col, lo_col), max(self.max_col, hi_col)

    def scan(self, window: bytes, cell_tags: int | None = None) -> None:
        """Extent and dimension from one window; ``cell_tags`` is ``_count(window, _CELL_TAGS)``
        if the caller has it already."""
        # A million cells per file: the extent and the farthest cell come from C-level passes
        # over the matches (map, min, max, list.index), not a Python call per cell (issue 16).
        if cell_tags is None:
            cell_tags = _count(window, _CELL_TAGS)
        plain = window.count(_PLAIN_CELL) == cell_tags
        refs = (_CELL_REF_PLAIN if plain else _CELL_REF).findall(window)
        if refs:
            letters, digits = zip(*refs, strict=True)
            n = len(digits)
            rows = np.fromiter(map(int, digits), dtype=np.int64, count=n)      # (at most 7 digits each)
            numbers = {x: column_number(x) for x in set(letters)}
            cols = np.fromiter(map(numbers.__getitem__, letters), dtype=np.int64, count=n)
            i = int((rows * cols).argmax())         # first of the largest, as list.index(max) gives
            self._extend(int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))
            self.see(int(rows[i]), int(cols[i]))  # the farthest cell, by name in a refusal
        # Rows whose first cell has no reference: none when every cell tag has one.
        for digits in () if plain else _ROW_REF.findall(window):
            self.see(int(digits), self.min_col or 1)
        if self.dimension is None and b"dimension" in window and (m := _DIMENSION.search(window)):
            self.dimension = m.group(1).decode("ascii")

    @property
    def area(self) -> int:
        if not self.max_row:
            return 0
        return (self.max_row - self.min_row + 1) * (self.max_col - self.min_col + 1)

    def too_sparse(self) -> bool:
        return self.area > FAR_FACTOR * max(self.cells, 1) and self.area > FAR_CAP


@dataclass
class WorkbookInfo:
    sheet_paths: dict[str, str] = field(default_factory=dict)      # sheet name -> zip member
    hidden: set[str] = field(default_factory=set)
    formulas_without_value: dict[str, list[str]] = field(default_factory=dict)  # sheet -> cells
    scans: dict[str, SheetScan] = field(default_factory=dict)       # sheet -> what it holds
    layout_repaired: bool = False   # parts found only case/separator-insensitively


_SAVE_AS = "Sla het bestand in Excel op via 'Opslaan als' > 'Excel-werkmap (*.xlsx)' en lever het opnieuw aan."
_SAVE_AS_OPEN = ("Open het bestand in Excel (of LibreOffice), kies 'Opslaan als' > 'Excel-werkmap (*.xlsx)' "
                 "en lever dat bestand opnieuw aan.")
_BROKEN_FIX = "Open het bestand in Excel om te controleren dat het werkt, sla het op als .xlsx en lever opnieuw aan."
_MACRO_FIX = "Sla het bestand op als 'Excel-werkmap (*.xlsx)' (zonder macro's) en lever opnieuw aan."
_PASSWORD_FIX = ("Verwijder de beveiliging (Bestand > Info > Werkmap beveiligen > wachtwoord leegmaken), "
                 "sla op als .xlsx en lever opnieuw aan.")

#: What a file is (from its bytes) -> (code, Dutch message, fix).
KINDS: dict[str, tuple[str, str, str]] = {
    "csv": ("geen_xlsx", "Dit is een CSV-bestand (tekst met scheidingstekens), geen Excel-werkmap.", _SAVE_AS_OPEN),
    "text": ("geen_xlsx", "Dit is een tekstbestand, geen Excel-werkmap.", _SAVE_AS_OPEN),
    "html": ("geen_xlsx", "Dit is een webpagina (HTML), bijvoorbeeld een export uit een webapplicatie, geen Excel-werkmap.",
             _SAVE_AS_OPEN),
    "spreadsheetml2003": ("geen_xlsx", "Dit is een XML-werkblad uit Excel 2003 (XML-spreadsheet), geen Excel-werkmap.",
                          _SAVE_AS_OPEN),
    "xml": ("geen_xlsx", "Dit is een XML-bestand, geen Excel-werkmap.", _SAVE_AS_OPEN),
    "sylk": ("geen_xlsx", "Dit is een SYLK-bestand (.slk), geen Excel-werkmap.", _SAVE_AS_OPEN),
    "fods": ("geen_xlsx", "Dit is een plat OpenDocument-rekenblad (.fods), geen Excel-werkmap.", _SAVE_AS_OPEN),
    "ods": ("geen_xlsx", "Dit is een OpenDocument-rekenblad (.ods), geen Excel-werkmap.", _SAVE_AS_OPEN),
    "xls": ("geen_xlsx", "Dit is een oud Excel-bestand (.xls, Excel 97-2003 of ouder), geen Excel-werkmap (.xlsx).",
            _SAVE_AS_OPEN),
    "xlsb": ("geen_xlsx", "Dit is een binaire Excel-werkmap (.xlsb), geen gewone Excel-werkmap (.xlsx).", _SAVE_AS),
    "numbers": ("geen_xlsx", "Dit is een Apple Numbers-bestand, geen Excel-werkmap.",
                "Kies in Numbers 'Archief' > 'Exporteer naar' > 'Excel...' (.xlsx) en lever dat bestand opnieuw aan."),
    "pdf": ("geen_xlsx", "Dit is een PDF-bestand, geen Excel-werkmap. Uit een PDF kunnen we geen cijfers lezen.",
            "Lever de tabel als Excel-bestand aan: open de gegevens in Excel en kies 'Opslaan als' > "
            "'Excel-werkmap (*.xlsx)'."),
    "word": ("geen_xlsx", "Dit is een Word-document, geen Excel-werkmap.",
             "Zet de tabel in een Excel-werkmap (uit het sjabloon), kies 'Opslaan als' > 'Excel-werkmap (*.xlsx)' "
             "en lever die opnieuw aan."),
    "ole": ("beveiligd_of_oud", "Het bestand is een oud Office-bestand of met een wachtwoord beveiligd; "
            "het is geen Excel-werkmap (.xlsx).", _PASSWORD_FIX),
    "encrypted": ("beveiligd_of_oud", "Het bestand is met een wachtwoord beveiligd of versleuteld.", _PASSWORD_FIX),
    "xlsm": ("macros", "Dit is een Excel-bestand met macro's (.xlsm). Bestanden met macro's nemen we niet aan.", _MACRO_FIX),
    "zip": ("geen_xlsx", "Het bestand is een zip-bestand, maar geen Excel-werkmap.",
            "Lever de Excel-werkmap zelf aan, niet ingepakt: 'Opslaan als' > 'Excel-werkmap (*.xlsx)'."),
}
_EXT_KIND = {".xls": "xls", ".xlsm": "xlsm", ".xlsb": "xlsb", ".csv": "csv", ".ods": "ods", ".fods": "fods",
             ".slk": "sylk", ".htm": "html", ".html": "html", ".pdf": "pdf", ".numbers": "numbers",
             ".txt": "text", ".tsv": "csv", ".prn": "text", ".doc": "word"}


def _refuse(code: str, message: str, fix: str = _SAVE_AS, **kw) -> FileRefused:
    return FileRefused(error(code, message, fix, **kw))


def _refuse_kind(kind: str) -> FileRefused:
    code, message, fix = KINDS[kind]
    return _refuse(code, message, fix, extra={"formaat": kind})


def sniff(path: Path) -> str:
    """What the file is, from its first bytes: ``zip`` (any zip: checked further by
    ``_inspect_zip``), one of ``KINDS``, or ``unknown``."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head.startswith(OLE_MAGIC):
        with open(path, "rb") as fh:
            whole = fh.read(8 * 2**20)
        names = {k: n.encode("utf-16-le") for k, n in
                 (("encrypted", "EncryptedPackage"), ("word", "WordDocument"), ("xls", "Workbook"), ("xls5", "Book"))}
        for kind in ("encrypted", "xls", "xls5", "word"):
            if names[kind] in whole:
                return "xls" if kind == "xls5" else kind
        return "ole"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08") and len(head) > 4:
        return "xls"                  # a bare BIFF2-4 stream (Excel 2-4 wrote these without OLE)
    text = _as_text(head)
    if text is None:
        return "unknown"
    low = text.lstrip().lower()
    if low.startswith("id;p") or low.startswith("id;"):
        return "sylk"
    start = low[:4096]
    if "urn:schemas-microsoft-com:office:spreadsheet" in low[:16384] and "<workbook" in low[:16384]:
        return "spreadsheetml2003"
    if "<html" in start or "<!doctype html" in start or "<table" in start:
        return "html"
    if low.startswith("<?xml") or low.startswith("<"):
        if "office:document" in low[:16384] and "opendocument" in low[:16384]:
            return "fods"
        return "xml"
    first = low.splitlines()[0] if low.splitlines() else ""
    if any(sep in first for sep in (",", ";", "\t", "|")):
        return "csv"
    return "text"


def _as_text(head: bytes) -> str | None:
    """The head as text, or None when it is binary (NUL bytes outside a UTF-16 BOM)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return head.decode("utf-16", errors="ignore")
        except UnicodeDecodeError:
            return None
    if b"\x00" in head:
        return None
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:           # cut in the middle of a character
            return head[:exc.start].decode("utf-8")
        return head.decode("cp1252", errors="replace")


def check_workbook(path: Path, limits: Limits | None = None) -> WorkbookInfo:
    """Raise ``FileRefused`` for anything that is not a safe, readable .xlsx."""
    limits = limits or Limits()
    ext = path.suffix.lower()
    size = path.stat().st_size
    if size == 0:
        raise _refuse("leeg_bestand", "Het bestand is leeg (0 bytes).", "Lever het bestand opnieuw aan; mogelijk ging het kopiëren mis.")
    if size > limits.max_file_bytes:
        raise _refuse("te_groot", f"Het bestand is groter dan {limits.max_file_bytes // 2**20} MB.",
                      "Lever alleen de gevraagde tabbladen aan, zonder afbeeldingen of extra gegevens.")
    kind = sniff(path)
    if ext != ".xlsx":
        if kind in KINDS and kind not in ("zip", "text", "xml", "ole"):
            raise _refuse_kind(kind)
        if kind != "zip" and ext in _EXT_KIND:
            raise _refuse_kind(_EXT_KIND[ext])
        if kind == "zip" and ext in _EXT_KIND:
            raise _refuse_kind(_EXT_KIND[ext])
        raise _refuse("geen_xlsx", f"Het bestand heeft de extensie '{ext or '(geen)'}'; we verwerken alleen .xlsx-bestanden.",
                      extra={"formaat": kind})
    if kind == "unknown":
        raise _refuse("beschadigd", "Het bestand is geen geldige Excel-werkmap: het is beschadigd of onvolledig.", _BROKEN_FIX)
    if kind != "zip":
        raise _refuse_kind(kind)
    if not zipfile.is_zipfile(path):
        raise _refuse("beschadigd", "Het bestand is geen geldige Excel-werkmap: het is beschadigd of onvolledig.", _BROKEN_FIX)
    try:
        with zipfile.ZipFile(path) as zf:
            return _inspect_zip(zf, limits)
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, SafeET.ParseError,
            NotImplementedError, ValueError) as exc:
        raise _refuse("beschadigd", "Het bestand is beschadigd of onvolledig en kan niet gelezen worden.", _BROKEN_FIX) from exc


def _canonical(name: str) -> str:
    return name.replace("\\", "/").lstrip("/").lower()


class _Members:
    """Zip members by canonical name (``/`` separators, lower case): Excel and calamine open
    workbooks written with ``xl\\\\workbook.xml`` or a lower-case ``[content_types].xml``."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.by_canon: dict[str, zipfile.ZipInfo] = {}
        for zi in zf.infolist():
            self.by_canon.setdefault(_canonical(zi.filename), zi)

    def get(self, name: str) -> zipfile.ZipInfo | None:
        return self.by_canon.get(_canonical(name))

    def read(self, name: str) -> bytes:
        zi = self.get(name)
        if zi is None:
            raise KeyError(name)
        return self.zf.read(zi)


def _inspect_zip(zf: zipfile.ZipFile, limits: Limits) -> WorkbookInfo:
    infos = zf.infolist()
    members = _Members(zf)
    names = set(members.by_canon)
    if len(infos) > limits.max_zip_members:
        raise _refuse("te_groot", "Het bestand bevat ongewoon veel onderdelen.", "Lever een gewone Excel-werkmap aan.")
    if "mimetype" in names and b"opendocument" in members.read("mimetype"):
        raise _refuse_kind("ods")
    if any(n.endswith("vbaproject.bin") for n in names):
        raise _refuse("macros", "Het bestand bevat macro's. Bestanden met macro's nemen we niet aan.", _MACRO_FIX)
    if any(n.endswith("index.zip") or n.endswith(".iwa") or n.endswith("metadata/properties.plist") for n in names):
        raise _refuse_kind("numbers")
    workbook = _workbook_part(members)
    if workbook is None:
        if any(n.endswith("workbook.bin") for n in names):
            raise _refuse_kind("xlsb")
        raise _refuse_kind("zip")
    if "[content_types].xml" in names and b"macroEnabled" in members.read("[content_types].xml"):
        raise _refuse("macros", "Het bestand is een werkmap met macro's (.xlsm) met de extensie .xlsx.", _MACRO_FIX)
    info = _sheets(members, workbook)
    info.layout_repaired = (workbook != "xl/workbook.xml" or "[Content_Types].xml" not in {zi.filename for zi in infos}
                            or any("\\" in zi.filename for zi in infos))
    by_path = {_canonical(p): s for s, p in info.sheet_paths.items()}
    total = 0
    for zi in infos:
        if zi.is_dir():
            continue
        if zi.compress_size and zi.file_size / max(zi.compress_size, 1) > limits.max_compression_ratio and zi.file_size > 10 * 2**20:
            raise _bomb(limits)
        canon = _canonical(zi.filename)
        is_xml = canon.endswith((".xml", ".rels", ".vml"))
        sheet = by_path.get(canon)
        has_formula = False
        rows = 0
        scan = SheetScan()
        tail = b""
        with zf.open(zi) as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise _bomb(limits)
                window = tail + chunk
                # Anywhere in the part, not only at its start: a long comment can push the
                # DOCTYPE past the first kilobytes. Cell text is escaped (&lt;), so a literal
                # "<!DOCTYPE" or "<!ENTITY" never occurs in a real workbook.
                if is_xml and (b"<!DOCTYPE" in window or b"<!ENTITY" in window):
                    raise _refuse("xml_onveilig", "Het bestand bevat XML-constructies die in een Excel-werkmap niet horen (DOCTYPE/ENTITY).",
                                  "Sla het bestand opnieuw op vanuit Excel en lever het opnieuw aan. Neem contact op als dit blijft gebeuren.")
                if sheet is not None:
                    # A hint only (``<f`` also starts ``<filterColumn``): the cells are checked by a real parse.
                    has_formula = has_formula or any(t in window for t in _FORMULA_TAGS)
                    # Count rows while streaming, so a huge sheet is refused before any reader loads it;
                    # counting in tail + chunk minus tail counts a tag cut by the chunk boundary once.
                    rows += _count_rows(window) - _count_rows(tail)
                    cell_tags = _count(window, _CELL_TAGS)
                    scan.cells += cell_tags - _count(tail, _CELL_TAGS)
                    scan.error_cells += window.count(_ERROR_CELL) - tail.count(_ERROR_CELL)
                    scan.array_formulas += window.count(_ARRAY_FORMULA) - tail.count(_ARRAY_FORMULA)
                    scan.scan(window, cell_tags)       # maxima: a tag seen twice in the overlap does no harm
                    if rows > limits.max_rows:
                        raise FileRefused(error("te_groot", f"Tabblad '{sheet}' heeft meer dan {limits.max_rows} regels; dat is geen gewone kwartaallevering.",
                                                "Lever alleen de gevraagde gegevens aan.", sheet=sheet))
                tail = chunk[-_TAIL:]
        if sheet is None:
            continue
        info.scans[sheet] = scan
        if scan.too_sparse():
            raise FileRefused(error(
                "cel_ver_buiten_tabel",
                f"Er staat iets in cel {scan.far_cell}, ver buiten de tabel. Maak die cel leeg en lever opnieuw aan.",
                f"Ga in Excel naar cel {scan.far_cell} (Ctrl+G), maak die cel leeg (of verwijder de rijen en kolommen "
                "tot daar) en lever het bestand opnieuw aan.",
                sheet=sheet, cells=(scan.far_cell,),
                extra={"cellen": scan.cells, "bereik_cellen": scan.area, "dimension": scan.dimension}))
        if has_formula:
            cells = _formulas_without_value(zf, zi)
            if cells:
                info.formulas_without_value[sheet] = cells
    return info


def _bomb(limits: Limits) -> FileRefused:
    return _refuse("te_groot", f"Het bestand pakt uit tot meer dan {limits.max_uncompressed_bytes // 2**20} MB; dat is geen gewone kwartaallevering.",
                   "Lever alleen de gevraagde tabbladen aan, zonder extra gegevens.")


def _resolve(base_dir: str, target: str) -> str:
    target = target.replace("\\", "/")
    member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath(base_dir) / target)
    while re.search(r"[^/]+/\.\./", member):
        member = re.sub(r"[^/]+/\.\./", "", member, count=1)
    return member[2:] if member.startswith("./") else member


def _workbook_part(members: _Members) -> str | None:
    """The workbook part: from the package relationships, else the usual places."""
    try:
        rels = SafeET.fromstring(members.read("_rels/.rels"))
        for r in rels.iter(f"{NS_PKG_REL}Relationship"):
            if (r.get("Type") or "").endswith("/officeDocument"):
                part = _resolve("", r.get("Target") or "")
                if members.get(part) is not None and part.lower().endswith(".xml"):
                    return _canonical(part)
    except KeyError:
        pass
    for part in ("xl/workbook.xml", "workbook.xml"):
        if members.get(part) is not None:
            return part
    return None


def _sheets(members: _Members, workbook: str) -> WorkbookInfo:
    base = str(PurePosixPath(workbook).parent)
    base = "" if base == "." else base
    wb = SafeET.fromstring(members.read(workbook))
    rels_name = f"{base}/_rels/{PurePosixPath(workbook).name}.rels" if base else f"_rels/{PurePosixPath(workbook).name}.rels"
    rels_xml = SafeET.fromstring(members.read(rels_name))
    targets = {r.get("Id"): r.get("Target") for r in rels_xml.iter(f"{NS_PKG_REL}Relationship")}
    info = WorkbookInfo()
    for s in wb.iter(f"{NS_MAIN}sheet"):
        name = s.get("name")
        member = _resolve(base, targets.get(s.get(f"{NS_REL}id"), "") or "")
        zi = members.get(member)
        info.sheet_paths[name] = zi.filename if zi is not None else member
        if s.get("state") in ("hidden", "veryHidden"):
            info.hidden.add(name)
    return info


def _formulas_without_value(zf: zipfile.ZipFile, member: zipfile.ZipInfo | str) -> list[str]:
    """Cells with a formula but no cached value (saved by a tool without a calculation engine)."""
    missing: list[str] = []
    with zf.open(member) as fh:
        for _event, el in SafeET.iterparse(fh, events=("end",)):
            if el.tag == f"{NS_MAIN}c":
                f = el.find(f"{NS_MAIN}f")
                if f is not None:
                    v = el.find(f"{NS_MAIN}v")
                    is_inline = el.find(f"{NS_MAIN}is") is not None
                    if (v is None or v.text in (None, "")) and not is_inline:
                        missing.append(el.get("r", "?"))
                el.clear()
            elif el.tag == f"{NS_MAIN}row":
                el.clear()
    return missing
