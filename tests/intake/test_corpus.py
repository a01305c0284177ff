"""The real-world corpus (../shared/realworld-corpus/): 426 spreadsheets from the test suites of
public spreadsheet libraries, and files derived from them. None is a partner delivery, so none
is accepted; every one must settle in exactly one place with one receipt, no traceback, a reason
that fits what the file is, in bounded time and memory.

The expected reason comes from the corpus's own naming (the original extension, the ``derived/``
recipe) and the zip directory, not from ``etl.intake.safety.sniff``: the test does not grade the
code with the code. Nothing of the corpus is copied into the project; the test skips when the
folder is absent. Prints a table of time and peak memory per file (max and p95).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from etl.core.config import SOURCES, DataDirs
from tests.conftest import ROOT, folder

CORPUS = (ROOT / ".." / ".." / "shared" / "realworld-corpus").resolve()
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/realworld-corpus")
BATCH = 150

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (CORPUS / "files").is_dir(),
                                                    reason=f"real-world corpus not present at {CORPUS}")]

# original extension -> (allowed codes, words the message must hold)
BY_EXTENSION: dict[str, tuple[set[str], tuple[str, ...]]] = {
    "csv": ({"geen_xlsx"}, ("CSV",)), "tsv": ({"geen_xlsx"}, ("CSV", "tekst")),
    "htm": ({"geen_xlsx"}, ("HTML",)), "html": ({"geen_xlsx"}, ("HTML",)),
    "slk": ({"geen_xlsx"}, ("SYLK",)), "fods": ({"geen_xlsx"}, (".fods",)),
    "xml": ({"geen_xlsx"}, ("Excel 2003", "XML")),
    "xls": ({"geen_xlsx", "beveiligd_of_oud"}, (".xls", "wachtwoord")),
    "ods": ({"geen_xlsx"}, (".ods",)), "xlsb": ({"geen_xlsx"}, (".xlsb",)),
    "xlsm": ({"macros"}, ("macro",)), "numbers": ({"geen_xlsx"}, ("Numbers",)),
}


def _files() -> list[Path]:
    return sorted((CORPUS / "files").iterdir()) + sorted((CORPUS / "derived").iterdir())


def _original_extension(name: str) -> str:
    """``renamed__calamine__date.xlsb.xlsx`` -> ``xlsb``; ``poi__49609.xlsx`` -> ``xlsx``."""
    if name.startswith("renamed__"):
        return name[: -len(".xlsx")].rsplit(".", 1)[-1].lower()
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _has_workbook_part(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.replace("\\", "/").lower().endswith("workbook.xml") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _check_reason(name: str, path: Path, receipt: dict) -> str | None:
    """None if the reason fits the file, else what is wrong."""
    codes = [p["code"] for p in receipt["problemen"] if p["ernst"] == "fout"]
    text = " ".join(p["melding"] for p in receipt["problemen"])
    if receipt["status"] != "afgekeurd" or not codes:
        return f"not refused: {receipt['status']} {codes}"
    if "verwerkingsfout" in codes:
        return "verwerkingsfout (the reader died on it)"
    if codes == ["leeg_bestand"]:
        return None if path.stat().st_size == 0 else "not empty but called leeg_bestand"
    if path.read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1") and b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P" in path.read_bytes():
        return None if codes == ["beveiligd_of_oud"] and "wachtwoord" in text else f"encrypted but {codes}"
    if name.startswith("farcell__"):
        cell = name.split("__")[1]
        return None if cell in text or codes == ["te_groot"] else f"far cell {cell} not named: {codes}"
    if name.startswith("truncated__"):
        return None if codes == ["beschadigd"] else f"truncated but {codes}"
    ext = _original_extension(name)
    if name.startswith("renamed__") or ext in BY_EXTENSION and not name.endswith(".xlsx"):
        allowed, words = BY_EXTENSION.get(ext, ({"geen_xlsx"}, ()))
        if not set(codes) & allowed:
            return f".{ext}: code {codes}, expected one of {sorted(allowed)}"
        if words and not any(w.lower() in text.lower() for w in words):
            return f".{ext}: message does not say {words}: {text[:120]}"
        return None
    if ext == "xlsx" and codes == ["geen_xlsx"] and _has_workbook_part(path):
        return "a zip with a workbook part called 'geen Excel-werkmap'"
    if ext == "xlsx" and "lege_werkmap" in codes and _holds_errors_or_arrays(path):
        return "a sheet with error values or array formulas called empty"
    if not name.endswith(".xlsx") and ext not in BY_EXTENSION and codes != ["geen_xlsx"]:
        return f".{ext}: {codes}"
    return None


def _holds_errors_or_arrays(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(b' t="e"' in zf.read(n) or b't="array"' in zf.read(n)
                       for n in zf.namelist() if "worksheets/" in n.replace("\\", "/"))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return False


_DONE = re.compile(r"analyse van (\S+): ([0-9.]+) s, piek (\d+) MB")
_DIED = re.compile(r"analyse van (\S+) \(\w+\) poging \d+ afgebroken: .*?; pid \d+, ([0-9.]+) s, piek (\d+) MB")


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


@pytest.mark.timeout(3600)
def test_every_corpus_file_settles_with_a_fitting_reason(tmp_path):
    files = _files()
    dirs = DataDirs(tmp_path / "data").ensure()
    env = {**os.environ, "MONITOR_DATA_DIR": str(dirs.root), "MONITOR_STABLE_SECONDS": "0", "PYTHONPATH": str(ROOT)}
    by_bron: dict[str, dict[str, Path]] = {b: {} for b in SOURCES}
    logs = ""
    for start in range(0, len(files), BATCH):
        for i, f in enumerate(files[start:start + BATCH], start):
            bron = SOURCES[i % len(SOURCES)]
            target = dirs.inbox / folder(bron) / f.name
            shutil.copyfile(f, target)
            os.utime(target, (0, 0))
            by_bron[bron][f.name] = f
        p = subprocess.run([sys.executable, "-m", "etl", "ingest"], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=1800)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "Traceback" not in p.stdout + p.stderr, p.stderr[-3000:]
        logs += p.stderr

    stats: dict[str, tuple[float, int]] = {}
    for m in list(_DONE.finditer(logs)) + list(_DIED.finditer(logs)):
        lid, secs, peak = m.group(1), float(m.group(2)), int(m.group(3))
        old = stats.get(lid, (0.0, 0))
        stats[lid] = (old[0] + secs, max(old[1], peak))

    from etl.intake.markup import NO_COPY_CODES

    wrong: list[str] = []
    rows: list[tuple[str, str, float, int]] = []
    no_copy: list[str] = []
    for bron, names in by_bron.items():
        receipts = [json.loads(r.read_text(encoding="utf-8")) for r in (dirs.outbox / folder(bron)).glob("*.ontvangstbewijs.json")]
        by_name: dict[str, list[dict]] = {}
        for r in receipts:
            by_name.setdefault(r["bestand"], []).append(r)
        assert sorted(by_name) == sorted(names), f"{bron}: receipts do not match the files dropped"
        for name, rs in by_name.items():
            assert len(rs) == 1, f"{name}: {len(rs)} receipts"
            why = _check_reason(name, names[name], rs[0])
            if not {p["code"] for p in rs[0]["problemen"]} & NO_COPY_CODES and not rs[0]["persoonsgegevens"]:
                if not (rs[0]["gemarkeerde_kopie"] or rs[0]["gemarkeerde_kopie_fout"]):
                    why = why or "a marked-up copy was due, but the receipt names neither the copy nor why it is missing"
                elif rs[0]["gemarkeerde_kopie_fout"]:
                    no_copy.append(f"{name}: {rs[0]['gemarkeerde_kopie_fout']}")
            if why:
                wrong.append(f"{name}: {why}")
            secs, peak = stats.get(rs[0]["levering_id"], (0.0, 0))
            rows.append((name, ",".join(p["code"] for p in rs[0]["problemen"] if p["ernst"] == "fout"), secs, peak))
        assert not any((dirs.inbox / folder(bron)).iterdir()) and not any((dirs.processing / folder(bron)).iterdir())
    placed = [p for top in (dirs.archive, dirs.quarantine, dirs.restricted) for p in top.rglob("*") if p.is_file()]
    assert len(placed) == len(files), "every file in exactly one final place"

    timed = [r for r in rows if r[3]]
    times, peaks = [r[2] for r in timed], [r[3] for r in timed]
    lines = [f"\ncorpus: {len(files)} files, {len(timed)} analysed in a child (the rest refused before: symlink, duplicate)",
             f"{'':<54} {'seconds':>8} {'peak MB':>8}",
             f"{'max':<54} {max(times):>8.2f} {max(peaks):>8}",
             f"{'p95':<54} {_pct(times, 0.95):>8.2f} {_pct(peaks, 0.95):>8}",
             f"{'median':<54} {_pct(times, 0.5):>8.2f} {_pct(peaks, 0.5):>8}",
             "slowest ten:"]
    for name, codes, secs, peak in sorted(timed, key=lambda r: -r[2])[:10]:
        lines.append(f"  {name[:52]:<52} {secs:>8.2f} {peak:>8}  {codes}")
    lines.append(f"no marked-up copy, and the receipt says why ({len(no_copy)}):")
    lines += [f"  {n}" for n in no_copy]
    print("\n".join(lines))
    assert not wrong, "\n".join(wrong)
    assert max(peaks) < 700 and max(times) < 120
