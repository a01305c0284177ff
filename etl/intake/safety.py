"""Is this file a safe, readable .xlsx? Decided before any parser touches it.

An .xlsx is a zip of XML parts. Hostile or broken files are refused here, cheaply,
with a Dutch problem a partner understands: wrong format, password, macros, a zip
bomb (sizes are counted while decompressing, not trusted from the zip directory),
XML with a DOCTYPE (entity expansion attacks; a real workbook never has one).

The same single decompression pass records which sheets hold formulas without a
cached value, because the fast reader cannot tell such a cell from an empty one.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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
_FORMULA_TAGS = (b"<f", b":f")


def _count_rows(data: bytes) -> int:
    return sum(data.count(t) for t in _ROW_TAGS)


class FileRefused(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class WorkbookInfo:
    sheet_paths: dict[str, str] = field(default_factory=dict)      # sheet name -> zip member
    hidden: set[str] = field(default_factory=set)
    formulas_without_value: dict[str, list[str]] = field(default_factory=dict)  # sheet -> cells


_EXT_MESSAGES = {
    ".xls": "Dit is een oud Excel-bestand (.xls).",
    ".xlsm": "Dit is een Excel-bestand met macro's (.xlsm). Bestanden met macro's nemen we niet aan.",
    ".xlsb": "Dit is een binair Excel-bestand (.xlsb).",
    ".csv": "Dit is een CSV-bestand, geen Excel-werkmap.",
    ".ods": "Dit is een OpenDocument-rekenblad (.ods), geen Excel-werkmap.",
}
_SAVE_AS = "Sla het bestand in Excel op via 'Opslaan als' > 'Excel-werkmap (*.xlsx)' en lever het opnieuw aan."


def _refuse(code: str, message: str, fix: str = _SAVE_AS) -> FileRefused:
    return FileRefused(error(code, message, fix))


def check_workbook(path: Path, limits: Limits | None = None) -> WorkbookInfo:
    """Raise ``FileRefused`` for anything that is not a safe, readable .xlsx."""
    limits = limits or Limits()
    ext = path.suffix.lower()
    if ext != ".xlsx":
        msg = _EXT_MESSAGES.get(ext, f"Het bestand heeft de extensie '{ext or '(geen)'}'; we verwerken alleen .xlsx-bestanden.")
        if ext == ".xlsm":
            raise _refuse("macros", msg, "Sla het bestand op als 'Excel-werkmap (*.xlsx)' (zonder macro's) en lever opnieuw aan.")
        raise _refuse("geen_xlsx", msg)
    size = path.stat().st_size
    if size == 0:
        raise _refuse("leeg_bestand", "Het bestand is leeg (0 bytes).", "Lever het bestand opnieuw aan; mogelijk ging het kopiëren mis.")
    if size > limits.max_file_bytes:
        raise _refuse("te_groot", f"Het bestand is groter dan {limits.max_file_bytes // 2**20} MB.",
                      "Lever alleen de gevraagde tabbladen aan, zonder afbeeldingen of extra gegevens.")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        raise _refuse("beveiligd_of_oud",
                      "Het bestand is met een wachtwoord beveiligd of versleuteld (of het is een oud .xls-bestand met de extensie .xlsx).",
                      "Verwijder de beveiliging (Bestand > Info > Werkmap beveiligen > wachtwoord leegmaken), sla op als .xlsx en lever opnieuw aan.")
    if not zipfile.is_zipfile(path):
        raise _refuse("beschadigd", "Het bestand is geen geldige Excel-werkmap: het is beschadigd of onvolledig.",
                      "Open het bestand in Excel om te controleren dat het werkt, sla het op als .xlsx en lever opnieuw aan.")
    try:
        with zipfile.ZipFile(path) as zf:
            return _inspect_zip(zf, limits)
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, SafeET.ParseError,
            NotImplementedError, ValueError) as exc:
        raise _refuse("beschadigd", "Het bestand is beschadigd of onvolledig en kan niet gelezen worden.",
                      "Open het bestand in Excel om te controleren dat het werkt, sla het op als .xlsx en lever opnieuw aan.") from exc


def _inspect_zip(zf: zipfile.ZipFile, limits: Limits) -> WorkbookInfo:
    infos = zf.infolist()
    names = {i.filename for i in infos}
    if len(infos) > limits.max_zip_members:
        raise _refuse("te_groot", "Het bestand bevat ongewoon veel onderdelen.", "Lever een gewone Excel-werkmap aan.")
    if "mimetype" in names and b"opendocument" in zf.read("mimetype"):
        raise _refuse("geen_xlsx", _EXT_MESSAGES[".ods"])
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refuse("macros", "Het bestand bevat macro's. Bestanden met macro's nemen we niet aan.",
                      "Sla het bestand op als 'Excel-werkmap (*.xlsx)' (zonder macro's) en lever opnieuw aan.")
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise _refuse("geen_xlsx", "Het bestand is een zip-bestand, maar geen Excel-werkmap.")
    if b"macroEnabled" in zf.read("[Content_Types].xml"):
        raise _refuse("macros", "Het bestand is een werkmap met macro's (.xlsm) met de extensie .xlsx.",
                      "Sla het bestand op als 'Excel-werkmap (*.xlsx)' (zonder macro's) en lever opnieuw aan.")
    info = _sheets(zf)
    by_path = {p: s for s, p in info.sheet_paths.items()}
    total = 0
    for zi in infos:
        if zi.is_dir():
            continue
        if zi.compress_size and zi.file_size / max(zi.compress_size, 1) > limits.max_compression_ratio and zi.file_size > 10 * 2**20:
            raise _bomb(limits)
        is_xml = zi.filename.endswith((".xml", ".rels", ".vml"))
        is_sheet = zi.filename in by_path
        has_formula = False
        rows = 0
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
                if is_sheet:
                    # A hint only (``<f`` also starts ``<filterColumn``): the cells are checked by a real parse.
                    has_formula = has_formula or any(t in window for t in _FORMULA_TAGS)
                    # Count rows while streaming, so a huge sheet is refused before any reader loads it;
                    # counting in tail + chunk minus tail counts a tag cut by the chunk boundary once.
                    rows += _count_rows(window) - _count_rows(tail)
                    if rows > limits.max_rows:
                        raise FileRefused(error("te_groot", f"Tabblad '{by_path[zi.filename]}' heeft meer dan {limits.max_rows} regels; dat is geen gewone kwartaallevering.",
                                                "Lever alleen de gevraagde gegevens aan.", sheet=by_path[zi.filename]))
                tail = chunk[-16:]
        if is_sheet and has_formula:
            cells = _formulas_without_value(zf, zi.filename)
            if cells:
                info.formulas_without_value[by_path[zi.filename]] = cells
    return info


def _bomb(limits: Limits) -> FileRefused:
    return _refuse("te_groot", f"Het bestand pakt uit tot meer dan {limits.max_uncompressed_bytes // 2**20} MB; dat is geen gewone kwartaallevering.",
                   "Lever alleen de gevraagde tabbladen aan, zonder extra gegevens.")


def _sheets(zf: zipfile.ZipFile) -> WorkbookInfo:
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    rels_xml = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels_xml.iter(f"{NS_PKG_REL}Relationship")}
    info = WorkbookInfo()
    for s in wb.iter(f"{NS_MAIN}sheet"):
        name = s.get("name")
        target = targets.get(s.get(f"{NS_REL}id"), "")
        if target.startswith("/"):
            member = target.lstrip("/")
        else:
            member = str(PurePosixPath("xl") / target)
        member = re.sub(r"[^/]+/\.\./", "", member)
        info.sheet_paths[name] = member
        if s.get("state") in ("hidden", "veryHidden"):
            info.hidden.add(name)
    return info


def _formulas_without_value(zf: zipfile.ZipFile, member: str) -> list[str]:
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
