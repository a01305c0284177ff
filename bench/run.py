#!/usr/bin/env python
"""Benchmark of the intake pipeline at region, national and 200k-row-workbook size (issue 6).

    .venv/bin/python bench/run.py            # full run (about 10-15 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # tiny sizes, in-process: the smoke test

It generates synthetic deliveries (cached under ``bench/out/inputs/`` by their
parameters), runs the real pipeline code on them and prints one table: seconds,
peak memory and rows per second for each stage (read, validate, store, dataset
assembly, workbook) at each size, plus the floor (unzip + stream the sheet XML) and
the naive path (``pandas.read_excel(engine="openpyxl")`` + the same GX suite +
``DataFrame.to_excel``) on the same 200k-row file, and our time as a ratio of each.

Every measurement runs in a fresh Python process (``--worker``), so imports, the GX
context and the page cache state are those of a real Airflow task, and its peak
memory is the child's own ``ru_maxrss`` (``os.wait4``). Within a process the peak of
each stage is sampled with psutil (every 5 ms), which costs nothing measurable.
Results are also written to ``bench/out/results.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PERIODE = "2024Q4"            # the quarter the big inputs describe
Q_START, Q_END = dt.date(2024, 10, 1), dt.date(2024, 12, 31)
EXCEL_EPOCH = dt.date(1899, 12, 30)

# Sizes. "national": one national Veilig Thuis and one Vrouwenopvang workbook with a
# row per municipality (342), and the WIJ-style case rows spread over several workbooks.
FULL = {"region_quarters": 8, "national_gemeenten": 342, "national_rows": 1_000_000,
        "national_files": 5, "big_rows": 200_000, "repeats": 3}
QUICK = {"region_quarters": 2, "national_gemeenten": 24, "national_rows": 2_000,
         "national_files": 2, "big_rows": 1_000, "repeats": 1}


# =====================================================================================
# Input generation: a small streaming .xlsx writer (shared strings, a date style, like
# Excel writes) so that a million rows take seconds, not the minutes openpyxl needs.
# Generation time is not pipeline time and is never in the table.
# =====================================================================================

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '{sheets}'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
_SHEET_CT = ('<Override PartName="/xl/worksheets/sheet{i}.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd\\-mm\\-yyyy"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '</styleSheet>')
_DATE_STYLE, _BOLD_STYLE = 1, 2


def _col_letters(n: int) -> list[str]:
    out = []
    for i in range(n):
        s, k = "", i + 1
        while k:
            k, r = divmod(k - 1, 26)
            s = chr(65 + r) + s
        out.append(s)
    return out


class StreamingXlsx:
    """Write sheets row by row straight into the zip; shared strings collected on the way."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = path.with_name("." + path.name + ".tmp")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.zf = zipfile.ZipFile(self.tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        self.sst: dict[str, int] = {}
        self.sst_refs = 0
        self.sheets: list[str] = []

    def _s(self, text: str) -> int:
        self.sst_refs += 1
        i = self.sst.get(text)
        if i is None:
            i = self.sst[text] = len(self.sst)
        return i

    def sheet(self, name: str, rows, width: int) -> None:
        """``rows``: iterable of lists; str -> shared string, int/float -> number,
        datetime.date -> date serial with the date style, None -> no cell, ("b", v) -> bold."""
        self.sheets.append(name)
        letters = _col_letters(width)
        with self.zf.open(f"xl/worksheets/sheet{len(self.sheets)}.xml", "w") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                     b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>')
            buf: list[str] = []
            for r, row in enumerate(rows, start=1):
                cells = []
                for c, v in enumerate(row):
                    if v is None:
                        continue
                    style = ""
                    if isinstance(v, tuple):
                        v, style = v[1], f' s="{_BOLD_STYLE}"'
                    ref = f"{letters[c]}{r}"
                    if isinstance(v, str):
                        cells.append(f'<c r="{ref}"{style} t="s"><v>{self._s(v)}</v></c>')
                    elif isinstance(v, dt.date):
                        cells.append(f'<c r="{ref}" s="{_DATE_STYLE}"><v>{(v - EXCEL_EPOCH).days}</v></c>')
                    else:
                        cells.append(f'<c r="{ref}"{style}><v>{v}</v></c>')
                buf.append(f'<row r="{r}">{"".join(cells)}</row>')
                if len(buf) >= 2000:
                    fh.write("".join(buf).encode())
                    buf.clear()
            fh.write("".join(buf).encode())
            fh.write(b"</sheetData></worksheet>")

    def close(self) -> Path:
        zf = self.zf
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
            sheets="".join(_SHEET_CT.format(i=i + 1) for i in range(len(self.sheets)))))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{escape(n)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(self.sheets))
            + "</sheets></workbook>"))
        zf.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                      f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(len(self.sheets)))
            + f'<Relationship Id="rId{len(self.sheets) + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            + f'<Relationship Id="rId{len(self.sheets) + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            + "</Relationships>"))
        zf.writestr("xl/styles.xml", _STYLES)
        with zf.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                     f'count="{self.sst_refs}" uniqueCount="{len(self.sst)}">'.encode())
            fh.write("".join(f"<si><t>{escape(s)}</t></si>" for s in self.sst).encode())
            fh.write(b"</sst>")
        zf.close()
        os.replace(self.tmp, self.path)
        return self.path


WIJ_COLUMNS = ["periode", "casus_id", "wijk", "startdatum", "einddatum", "vorm_geweld",
               "doorverwezen_veilig_thuis", "nazorg", "aantal_kinderen"]


def write_wij_workbook(path: Path, n_rows: int, seed: int) -> Path:
    """A WIJ delivery for PERIODE with ``n_rows`` case rows, valid against the contract.

    Shaped like etl.tools.samples (title, blank row, header on row 3, a note under the table,
    a Groepsaanbod sheet with a Totaal row), but vectorised with numpy.
    """
    import numpy as np

    from etl.tools.samples import GROEPSAANBOD, GROEPSAANBOD_WIJKEN, VORMEN_GEWELD, WIJKEN

    rng = np.random.default_rng(seed)
    wijk_p = np.array([w for _, w in WIJKEN])
    wijk_p /= wijk_p.sum()
    vorm_p = np.array([p for _, p in VORMEN_GEWELD])
    vorm_p /= vorm_p.sum()
    q_days = (Q_END - Q_START).days + 1
    # Start between 500 days before the quarter and its last day; long cases end later.
    start_off = rng.integers(-500, q_days, size=n_rows)
    duration = np.minimum(np.rint(rng.lognormal(np.log(120.0), 0.7, size=n_rows)), 900).astype(int)
    end_off = np.maximum(start_off + duration, rng.integers(0, q_days, size=n_rows) * (start_off < 0))
    end_off = np.maximum(end_off, start_off)
    closed = end_off < q_days
    wijk = rng.choice(len(WIJKEN), size=n_rows, p=wijk_p)
    vorm = rng.choice(len(VORMEN_GEWELD), size=n_rows, p=vorm_p)
    doorverwezen = rng.random(n_rows) < 0.3
    nazorg = (rng.random(n_rows) < 0.55) & closed
    kinderen = rng.choice(5, size=n_rows, p=[0.38, 0.25, 0.23, 0.10, 0.04])
    # Unique opaque pseudonyms: a bijection of 0..n-1 on 32 bits, written as hex.
    ids = (np.arange(n_rows, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(seed * 7919)) % np.uint64(2**32)
    order = np.lexsort((ids, start_off))
    wijk_names = [w for w, _ in WIJKEN]
    vorm_names = [v for v, _ in VORMEN_GEWELD]
    base = Q_START.toordinal()

    def rows():
        yield [f"WIJ — casussen huiselijk geweld en kindermishandeling {PERIODE} (synthetisch, benchmark)"]
        yield []
        yield WIJ_COLUMNS
        for i in order.tolist():
            s = dt.date.fromordinal(base + int(start_off[i]))
            e = dt.date.fromordinal(base + int(end_off[i])) if closed[i] else None
            yield [PERIODE, f"C-{int(ids[i]):08X}", wijk_names[wijk[i]], s, e, vorm_names[vorm[i]],
                   "ja" if doorverwezen[i] else "nee", "ja" if nazorg[i] else "nee", int(kinderen[i])]
        yield []
        yield ["Bron: synthetische gegevens (benchmark); einddatum leeg = casus loopt nog"]

    groep_rows = []
    for w in GROEPSAANBOD_WIJKEN:
        for a in GROEPSAANBOD:
            g = int(rng.integers(0, 4))
            groep_rows.append([PERIODE, w, a, g, int(rng.integers(1, 25)) if g else 0])

    def groepen():
        yield [f"WIJ — groepsaanbod {PERIODE}"]
        yield []
        yield ["periode", "wijk", "aanbod", "groepen", "deelnemers"]
        yield from groep_rows
        yield [("b", "Totaal"), None, None, ("b", sum(r[3] for r in groep_rows)), ("b", sum(r[4] for r in groep_rows))]

    w = StreamingXlsx(path)
    w.sheet("Casussen", rows(), len(WIJ_COLUMNS))
    w.sheet("Groepsaanbod", groepen(), 5)
    return w.close()


def national_gemeenten(n: int) -> list[tuple[str, str]]:
    """(CBS-style code, name): the region's ten real ones, then synthetic GM9xxx codes.

    The real list of 342 municipalities is not in the repository; synthetic codes and
    names exercise exactly the same code (lookup, in-set check, region totals).
    """
    from etl.core.reference import gemeenten

    real = [(g.code, g.naam) for g in gemeenten()]
    return real + [(f"GM{9000 + i:04d}", f"Benchgemeente {i:03d}") for i in range(1, n - len(real) + 1)]


VT_COLUMNS = ["periode", "gemeente", "adviezen", "meldingen_totaal", "meldingen_kindermishandeling",
              "meldingen_partnergeweld", "meldingen_ouderenmishandeling", "meldingen_overig",
              "melder_politie", "melder_professional", "melder_burger", "unieke_casussen",
              "hermeldingen", "tijdelijke_huisverboden", "icm_trajecten_gestart"]
VO_COLUMNS = ["periode", "gemeente", "aanmeldingen", "opnames_volwassenen", "opnames_kinderen",
              "ambulante_trajecten", "uitstroom_zelfstandig", "uitstroom_terug_naar_huis",
              "uitstroom_andere_opvang", "uitstroom_onbekend"]


VT_ORGANISATIONS = 26          # the national anchors: 26 Veilig Thuis organisations


def vt_organisations(gemeenten: list[tuple[str, str]], n: int = VT_ORGANISATIONS) -> list[tuple[str, list[tuple[str, str]]]]:
    """(organisation code, its municipalities): Veilig Thuis Groningen holds the region's own ten
    (as the real one does), the other ``n - 1`` share the rest in contiguous slices whose sizes
    differ by at most one (fewer organisations only when there are fewer municipalities)."""
    own, rest = gemeenten[:10], gemeenten[10:]
    k = min(n - 1, len(rest))
    bounds = [len(rest) * i // k for i in range(k + 1)] if k else [0]
    slices = [rest[bounds[i]:bounds[i + 1]] for i in range(k)]
    return [("veilig-thuis-groningen", own), *((f"vt-regio-{i + 2:02d}", sl) for i, sl in enumerate(slices))]


def write_national_aggregates(out: Path, gemeenten: list[tuple[str, str]], seed: int) -> list[Path]:
    """Each of the 26 Veilig Thuis organisations' workbook (a row per municipality it covers, in its
    own partner folder) and one national Vrouwenopvang workbook (a row per municipality)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vt_rows, vo_rows = [], []
    for _code, naam in gemeenten:
        tot = int(rng.integers(20, 900))
        kinds = rng.multinomial(tot, [0.40, 0.35, 0.05, 0.20]).tolist()
        melders = rng.multinomial(tot, [0.65, 0.25, 0.10]).tolist()
        vt_rows.append(["2024-Q4", naam, int(rng.integers(10, 900)), tot, *kinds, *melders,
                        int(tot * 0.8), int(tot * 0.2), int(rng.integers(0, 10)), int(rng.integers(0, 10))])
        aan = int(rng.integers(0, 60))
        uit = rng.multinomial(int(aan * 0.3), [0.4, 0.25, 0.2, 0.15]).tolist()
        vo_rows.append(["Q4 2024", naam, aan, int(aan * 0.3), int(aan * 0.3), int(aan * 0.6), *uit])

    def table(title, columns, rows, skip=0):
        yield [title]
        yield []
        yield columns
        yield from rows
        if skip:
            yield [("b", "Totaal"), *[None] * (skip - 1), *[("b", sum(r[c] for r in rows)) for c in range(skip, len(columns))]]
        yield []
        yield ["Bron: synthetische gegevens (benchmark)"]

    vt_files = []
    row_of = {naam: r for (_c, naam), r in zip(gemeenten, vt_rows, strict=True)}
    for code, members in vt_organisations(gemeenten):
        vt = StreamingXlsx(out / "veilig_thuis" / code / f"VeiligThuis_{code}_2024-Q4.xlsx")
        vt.sheet("Meldingen", table(f"Veilig Thuis {code}, 2024 Q4 (synthetisch)", VT_COLUMNS,
                                    [row_of[naam] for _c, naam in members], 2), len(VT_COLUMNS))
        vt.sheet("Doorlooptijden", table("Veiligheidsbeoordelingen", ["periode", "veiligheidsbeoordelingen", "binnen_5_werkdagen",
                                                                      "wachtlijst_einde_kwartaal"], [["2024-Q4", 350, 310, 12]]), 4)
        vt_files.append(vt.close())
    vo = StreamingXlsx(out / "vrouwenopvang" / "Vrouwenopvang_landelijk_Q4_2024.xlsx")
    vo.sheet("Opvang", table("Vrouwenopvang — landelijk (synthetisch)", VO_COLUMNS, vo_rows, 2), len(VO_COLUMNS))
    vo.sheet("Capaciteit", table("Capaciteit", ["periode", "plaatsen_crisisopvang", "bezette_plaatsdagen", "wachtlijst_einde_kwartaal",
                                                "gemiddelde_verblijfsduur_dagen"], [["Q4 2024", 800, 64000, 200, 45.5]]), 5)
    vo.sheet("Steunpunt", table("Steunpunt", ["periode", "inloopcontacten", "telefonische_contacten", "chatcontacten"],
                                [["Q4 2024", 2000, 3500, 1200]]), 4)
    return [*vt_files, vo.close()]


def national_reference(ref_dir: Path, gemeenten: list[tuple[str, str]]) -> Path:
    """A bench-only copy of include/*.csv that knows the synthetic municipalities.

    Only the benchmark process reads it (see ``reference_override``); the repository's
    reference data is untouched.
    """
    ref_dir.mkdir(parents=True, exist_ok=True)
    include = REPO / "include"
    for name in ("wijken.csv", "bevolking.csv", "gemeenten.csv"):
        shutil.copy(include / name, ref_dir / name)
    with open(ref_dir / "gemeenten.csv", "a", encoding="utf-8") as fh:
        for code, naam in gemeenten[10:]:
            fh.write(f"{code},{naam},ja,,\n")
    with open(ref_dir / "bevolking.csv", "a", encoding="utf-8") as fh:
        for i, (code, _naam) in enumerate(gemeenten[10:]):
            fh.write(f"{code},2024,{20000 + 137 * i}\n")
    import yaml

    orgs = yaml.safe_load((include / "organisaties.yaml").read_text(encoding="utf-8"))
    orgs["organisaties"]["veilig_thuis"] = [
        {"code": code, "naam": f"Veilig Thuis {code}", "gemeenten": [c for c, _n in members]}
        for code, members in vt_organisations(gemeenten)]
    (ref_dir / "organisaties.yaml").write_text(yaml.safe_dump(orgs, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return ref_dir


# =====================================================================================
# Inputs, cached under bench/out/inputs/<key>/ (a ``.done`` marker makes a key complete)
# =====================================================================================

def _cached(root: Path, key: str, build) -> Path:
    d = root / "inputs" / key
    if (d / ".done").exists():
        return d
    if d.exists():
        shutil.rmtree(d)
    t = time.perf_counter()
    build(d)
    (d / ".done").write_text(f"generated in {time.perf_counter() - t:.1f} s\n")
    print(f"  generated {key} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return d


def _files(d: Path, bron: str | None = None) -> list[list[str]]:
    """[path, partner folder relative to the inbox] of every workbook under ``d``."""
    found = [[str(p), p.parent.relative_to(d).as_posix()] for p in sorted(d.rglob("*.xlsx"))]
    return [f for f in found if bron in (None, f[1].split("/")[0])]


def prepare_inputs(root: Path, sz: dict) -> dict:
    """All inputs for one run; returns the plan the workers get (paths and sources)."""
    from etl.tools.samples import QUARTERS_DEFAULT, generate_samples

    quarters = list(QUARTERS_DEFAULT[-sz["region_quarters"]:])
    region = _cached(root, f"region-q{len(quarters)}-s20241",
                     lambda d: generate_samples(d, quarters, seed=20241, population_scale=1.0))
    last = quarters[-1]
    region_files = [f for f in _files(region) if _quarter_of_sample(f[0]) == last]
    history = [f for f in _files(region) if _quarter_of_sample(f[0]) != last]

    n, parts = sz["national_rows"], sz["national_files"]

    def build_national(d: Path) -> None:
        gem = national_gemeenten(sz["national_gemeenten"])
        write_national_aggregates(d, gem, seed=7)
        for i in range(parts):
            rows = n // parts + (1 if i < n % parts else 0)
            write_wij_workbook(d / "wij" / "wij-groningen" / f"WIJ_landelijk_{PERIODE}_deel{i + 1}.xlsx", rows, seed=101 + i)
        national_reference(d / "reference", gem)

    national = _cached(root, f"national-g{sz['national_gemeenten']}-r{n}-f{parts}-vt{VT_ORGANISATIONS}-own10", build_national)
    big = _cached(root, f"wij-{sz['big_rows']}-s1",
                  lambda d: write_wij_workbook(d / "wij" / "wij-groningen" / f"WIJ_{sz['big_rows']}_rijen_{PERIODE}.xlsx", sz["big_rows"], seed=1))
    return {
        "region": {"files": region_files, "history": history, "periode": last, "reference": None},
        "national": {"files": _files(national, "veilig_thuis") + _files(national, "vrouwenopvang") + _files(national, "wij"),
                     "history": [], "periode": PERIODE, "reference": str(national / "reference")},
        "big": {"files": _files(big), "history": [], "periode": PERIODE, "reference": None},
    }


def _quarter_of_sample(path: str) -> str:
    m = re.search(r"(\d{4})\D{0,2}Q(\d)", Path(path).name)
    assert m, path
    return f"{m.group(1)}Q{m.group(2)}"


# =====================================================================================
# Worker side: runs in a fresh process (or in-process with --quick)
# =====================================================================================

class RssSampler:
    """Peak resident memory per stage, sampled by a thread every 5 ms (plus at each stage end)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.current: str | None = None
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        rss = self.proc.memory_info().rss
        if self.current is not None and rss > self.peaks.get(self.current, 0):
            self.peaks[self.current] = rss

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self._sample()

    @contextmanager
    def stage(self, name: str):
        self.current = name
        self._sample()
        try:
            yield
        finally:
            self._sample()
            self.current = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def reference_override(ref_dir: str | None):
    """Point etl.core.reference and the expectation suites at a bench-only reference (national size)."""
    if not ref_dir:
        yield
        return
    import etl.core.reference as reference
    import etl.intake.validate as validate
    from etl.core.sources import load_sources

    cached = [getattr(reference, n) for n in dir(reference) if hasattr(getattr(reference, n), "cache_clear")]
    saved = (reference.INCLUDE_DIR, validate.EXPECTATIONS_DIR)
    suites_dir = Path(tempfile.mkdtemp(prefix="bench-suites-"))

    def reset() -> None:
        from etl.core import organisations

        for f in cached:
            f.cache_clear()
        organisations._all.cache_clear()          # "alle" means the reference's municipalities
        if validate._gx.cache_info().currsize:
            validate._gx()._suites.clear()        # suites are cached per source key

    try:
        reference.INCLUDE_DIR = Path(ref_dir)
        validate.EXPECTATIONS_DIR = suites_dir
        reset()
        validate.write_suites(load_sources().values())
        yield
    finally:
        reference.INCLUDE_DIR, validate.EXPECTATIONS_DIR = saved
        reset()
        shutil.rmtree(suites_dir, ignore_errors=True)


def _drop(files: list[list[str]], dirs) -> None:
    for path, bron in files:
        target = dirs.inbox / bron / Path(path).name
        shutil.copy(path, target)
        os.utime(target, (0, 0))


def cpu_now() -> float:
    """CPU seconds of this process and of its waited-for children: the intake analyses each
    file in a forked child (etl.intake.sandbox), whose time ``process_time`` alone misses."""
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def _store_url(spec: dict) -> str:
    """The store a worker writes to: ``spec["store_url"]`` (a PostgreSQL database the driver
    made for this run), else the SQLite file under the run's data folder."""
    url = spec.get("store_url") or ""
    if url:
        os.environ["MONITOR_STORE_URL"] = url          # for anything that reads the environment
    return url


def store_check(root: str, url: str) -> dict:
    """After the end-to-end run: one current delivery per (source, organisation, quarter) and
    no dataset value twice; the counts the table prints."""
    from etl.core.config import DataDirs
    from etl.store.db import Store

    with Store(DataDirs(Path(root), url)) as store:
        dup_current = store.rows("""SELECT bron, organisatie, periode FROM delivery_quarters WHERE actueel = 1
                                    GROUP BY bron, organisatie, periode HAVING COUNT(*) > 1""")
        dup_values = store.rows("""SELECT COUNT(*) AS n FROM (SELECT levering_id, periode, gebied_type, gebied_code, indicator
                                   FROM dataset_values GROUP BY levering_id, periode, gebied_type, gebied_code, indicator
                                   HAVING COUNT(*) > 1) AS d""")
        current = store.rows("SELECT COUNT(*) AS n FROM delivery_quarters WHERE actueel = 1")
        orgs = store.rows("SELECT bron, COUNT(DISTINCT organisatie) AS n FROM delivery_quarters WHERE actueel = 1 GROUP BY bron")
    return {"current_deliveries": int(current[0]["n"]), "duplicate_current": len(dup_current),
            "duplicate_values": int(dup_values[0]["n"]), "organisations": {r["bron"]: int(r["n"]) for r in orgs}}


def task_stages(spec: dict) -> dict:
    """Each stage of the pipeline on each file of one size, timed and memory-sampled."""
    sampler = RssSampler()
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rows: dict[str, int] = {}

    @contextmanager
    def stage(name: str, n_rows: int = 0):
        with sampler.stage(name):
            t, c = time.perf_counter(), time.process_time()
            yield
            times[name] = times.get(name, 0.0) + time.perf_counter() - t
            cpu[name] = cpu.get(name, 0.0) + time.process_time() - c
        rows[name] = rows.get(name, 0) + n_rows

    with stage("imports"):
        from etl import report
        from etl.core.config import DataDirs
        from etl.core.organisations import by_folder, original
        from etl.core.sources import get_source
        from etl.intake import read as reader
        from etl.intake import safety, screen, tidy, validate
        from etl.intake.coverage import coverage_problems
        from etl.intake.inbox import process_inbox, sha256_of
        from etl.store import dataset
        from etl.store.db import Delivery, Store
    with stage("gx_setup"):
        validate._gx()
    work = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    try:
        with reference_override(spec["reference"]):
            dirs = DataDirs(work / "data", _store_url(spec)).ensure()
            if spec["history"]:
                _drop(spec["history"], dirs)
                os.environ["MONITOR_STABLE_SECONDS"] = "0"
                process_inbox(dirs)                  # earlier quarters, so the workbook has history
            store = Store(dirs)
            total = 0
            for path_s, folder in spec["files"]:
                bron = folder.split("/")[0]
                org = by_folder(folder) or original(bron)
                path, source = Path(path_s), get_source(bron)
                with stage("safety"):
                    info = safety.check_workbook(path)
                with stage("load_grids"):
                    grids = reader.load_sheets_for(path, source)
                    located = reader.locate(grids, source)
                with stage("screen"):
                    pii = screen.screen_grids(located.grids, source, located.header_rows())
                assert not pii, pii
                with stage("parse"):
                    read = reader.read_workbook(located, source, info)
                n = sum(len(sd.frame) for sd in read.sheets.values())
                total += n
                for s in ("safety", "load_grids", "screen", "parse"):
                    rows[s] = rows.get(s, 0) + n
                del grids, located
                with stage("validate", n):
                    problems, summary = validate.validate(source, read, org)
                errors = [p for p in read.problems + problems if p.is_error]
                assert not errors, [(p.code, p.sheet, p.column, p.rows[:3]) for p in errors]
                with stage("tidy", n):
                    values = tidy.tidy_delivery(source, read, org)
                    assert not coverage_problems(values, org), folder
                sha = sha256_of(path)
                d = Delivery(levering_id=f"{bron}-bench-{sha[:12]}", bron=bron, organisatie=org.code,
                             bestandsnaam=path.name, sha256=sha,
                             ontvangen_op=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(), status="geaccepteerd",
                             persoonsgegevens=False, periodes=read.periodes, problemen=[p.to_dict() for p in problems],
                             validatie=summary.to_dict(), opgeslagen_als=None, afgerond=False)
                with stage("record", len(values)):
                    store.record(d, values)
                store.mark_settled(d.levering_id, "bench")
                del read, values
            store.close()
            with stage("dataset"):
                df = dataset.load([spec["periode"]], dirs)
            rows["dataset"] = len(df)
            with stage("workbook", len(df)):
                out = report.build_workbook(spec["periode"], dirs)
            assert Path(out).exists()
    finally:
        sampler.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"times": times, "cpu": cpu, "rows": rows, "peak_mb": {k: v / 2**20 for k, v in sampler.peaks.items()},
            "data_rows": total}


def task_e2e(spec: dict, t_start: float, c_start: float = 0.0) -> dict:
    """The whole intake as Airflow runs it: a fresh process, inbox -> store -> dataset -> workbook."""
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        parts: dict[str, float] = {}
        if spec.get("base"):                 # earlier quarters, ingested by the "history" task
            shutil.copytree(spec["base"], work / "data")
        t = time.perf_counter()
        from etl import report
        from etl.core.config import DataDirs
        from etl.intake.inbox import process_inbox
        from etl.store import dataset

        with reference_override(spec["reference"]):
            dirs = DataDirs(work / "data", _store_url(spec)).ensure()
            os.environ["MONITOR_STABLE_SECONDS"] = "0"
            _drop(spec["files"], dirs)
            parts["imports"] = time.perf_counter() - t
            t = time.perf_counter()
            outcomes = process_inbox(dirs)
            parts["process_inbox"] = time.perf_counter() - t
            bad = [(o.bestand, o.problem_codes) for o in outcomes if o.status != "geaccepteerd"]
            assert not bad, bad
            t = time.perf_counter()
            df = dataset.load([spec["periode"]], dirs)
            parts["dataset"] = time.perf_counter() - t
            t = time.perf_counter()
            report.build_workbook(spec["periode"], dirs)
            parts["workbook"] = time.perf_counter() - t
        seconds = time.perf_counter() - t_start
        cpu_seconds = cpu_now() - c_start
        if spec.get("keep"):                            # the report task starts from this store
            shutil.rmtree(spec["keep"], ignore_errors=True)
            shutil.move(str(work / "data"), spec["keep"])
        return {"seconds": seconds, "cpu_seconds": cpu_seconds, "parts": parts, "dataset_rows": len(df),
                "files": len(spec["files"])}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def task_history(spec: dict) -> dict:
    """Ingest the earlier quarters into a data folder that the end-to-end run starts from."""
    from etl.core.config import DataDirs
    from etl.intake.inbox import process_inbox

    dirs = DataDirs(Path(spec["keep"]), _store_url(spec)).ensure()
    os.environ["MONITOR_STABLE_SECONDS"] = "0"
    _drop(spec["history"], dirs)
    outcomes = process_inbox(dirs)
    return {"files": len(outcomes)}


def task_report(spec: dict, t_start: float, c_start: float) -> dict:
    """The quarterly report as the kwartaalrapportage DAG runs it: export_quarter, then build_workbook,
    each Airflow task a fresh process (here both in one; imports counted)."""
    parts: dict[str, float] = {}
    t = time.perf_counter()
    from etl.core.config import DataDirs
    from etl.store.dataset import export_quarter

    with reference_override(spec["reference"]):
        dirs = DataDirs(Path(spec["data"]), _store_url(spec))
        parts["imports"] = time.perf_counter() - t
        t = time.perf_counter()
        export = export_quarter(spec["periode"], dirs)
        parts["export_quarter"] = time.perf_counter() - t
        t = time.perf_counter()
        from etl.report import build_workbook
        parts["import etl.report"] = time.perf_counter() - t
        t = time.perf_counter()
        out = build_workbook(spec["periode"], dirs)
        parts["build_workbook"] = time.perf_counter() - t
    return {"seconds": time.perf_counter() - t_start, "cpu_seconds": cpu_now() - c_start, "parts": parts, "rows": export["rijen"],
            "bytes": Path(out).stat().st_size}


def floor_seconds(path: Path) -> tuple[float, int]:
    """Inflate every worksheet and the shared strings in 1 MB chunks and count ``<row`` tags."""
    t = time.perf_counter()
    n = 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not (name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"):
                continue
            tail = b""
            with zf.open(name) as fh:
                while chunk := fh.read(1 << 20):
                    n += (tail + chunk[:4]).count(b"<row") + chunk.count(b"<row") - chunk[:4].count(b"<row")
                    tail = chunk[-4:]
    return time.perf_counter() - t, n


def bare_fastexcel(path: Path) -> int:
    """The reader limit: fastexcel into Arrow, every sheet, header on row 3, types guessed (no checks)."""
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    return sum(reader.load_sheet(name, header_row=2).to_arrow().num_rows for name in reader.sheet_names)


def bare_calamine(path: Path) -> int:
    """python-calamine's to_python for every sheet: the previous reader, for comparison."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        return sum(len(wb.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in wb.sheet_names)
    finally:
        wb.close()


def task_floor_process(spec: dict, t_start: float, c_start: float) -> dict:
    """The floor of a fresh task process: start-up (etl, pandas), GX import + context, a bare fastexcel read."""
    parts: dict[str, float] = {}
    t = time.perf_counter()
    import pandas  # noqa: F401

    from etl.core.config import DataDirs  # noqa: F401
    from etl.intake import validate
    parts["imports"] = time.perf_counter() - t
    t = time.perf_counter()
    validate._gx()
    parts["gx_setup"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = bare_fastexcel(Path(spec["file"]))
    parts["fastexcel"] = time.perf_counter() - t
    return {"seconds": time.perf_counter() - t_start, "cpu_seconds": cpu_now() - c_start, "parts": parts, "rows": rows}


def task_read(spec: dict) -> dict:
    """Floor and our reader on the same file, interleaved, best of N (warm page cache).

    Wall and CPU seconds both: on a shared 2-core machine other processes stretch wall
    time, CPU time much less, so the ratios are given for both.
    """
    from etl.core.sources import get_source
    from etl.intake import read as reader
    from etl.intake import safety, screen

    path, bron = Path(spec["file"]), spec["bron"]
    source = get_source(bron)
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    rows_tags = 0

    def timed(name: str, fn, *args):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
        best_cpu[name] = min(best_cpu.get(name, float("inf")), time.process_time() - c)
        return out

    def load_and_locate(p):
        grids = reader.load_sheets_for(p, source)
        return reader.locate(grids, source)

    for _ in range(spec["repeats"]):
        _, rows_tags = timed("floor", floor_seconds, path)
        timed("fastexcel", bare_fastexcel, path)
        timed("calamine", bare_calamine, path)
        info = timed("safety", safety.check_workbook, path)
        located = timed("load_grids", load_and_locate, path)
        timed("screen", lambda loc: screen.screen_grids(loc.grids, source, loc.header_rows()), located)
        read = timed("parse", reader.read_workbook, located, source, info)
        del located, read
    for b in (best, best_cpu):
        b["read_core"] = b["load_grids"] + b["parse"]
        b["read_stage"] = b["load_grids"] + b["screen"] + b["parse"]
        b["read_all"] = b["safety"] + b["load_grids"] + b["screen"] + b["parse"]
    return {"best": best, "best_cpu": best_cpu, "row_tags": rows_tags}


def task_naive(spec: dict, t_start: float, c_start: float) -> dict:
    """What one would write without thinking: read_excel(openpyxl) + the same GX suite + to_excel."""
    parts: dict[str, float] = {}
    t = time.perf_counter()
    import pandas as pd

    from etl.intake import validate
    parts["imports"] = time.perf_counter() - t
    t = time.perf_counter()
    gx = validate._gx()
    suites = gx.suites_for(spec["bron"])
    parts["gx_setup"] = time.perf_counter() - t
    t = time.perf_counter()
    frames = pd.read_excel(spec["file"], sheet_name=None, header=2, engine="openpyxl")
    parts["read_excel"] = time.perf_counter() - t
    t = time.perf_counter()
    n = 0
    failed = 0
    for name, df in frames.items():
        df = df.dropna(subset=[df.columns[1]])            # notes and totals under the table
        if name == "Groepsaanbod":
            df = df[df["periode"].astype(str).str.match(r"^\d{4}Q[1-4]$")]
        for col in list(df.columns):
            if pd.api.types.is_numeric_dtype(df[col]):
                df[validate.NEG_PREFIX + col] = -df[col]
        frames[name] = df
        n += len(df)
        batch = gx.batch_definition.get_batch(batch_parameters={"dataframe": df})     # GX as a new user runs it
        result = batch.validate(suites[name], result_format={"result_format": "COMPLETE", "include_unexpected_rows": False})
        failed += sum(not r.success for r in result.results)
    parts["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="bench-naive-")) / "naive.xlsx"
    with pd.ExcelWriter(out, engine="openpyxl") as xw:
        for name, df in frames.items():
            df.to_excel(xw, sheet_name=name, index=False)
    parts["to_excel"] = time.perf_counter() - t
    shutil.rmtree(out.parent, ignore_errors=True)
    return {"seconds": time.perf_counter() - t_start, "cpu_seconds": cpu_now() - c_start, "parts": parts, "rows": n,
            "failed_expectations": failed}


def worker_main(task: dict) -> dict:
    t_start, c_start = time.perf_counter(), cpu_now()
    kind = task["task"]
    if kind == "stages":
        return task_stages(task)
    if kind == "e2e":
        return task_e2e(task, t_start, c_start)
    if kind == "report":
        return task_report(task, t_start, c_start)
    if kind == "history":
        return task_history(task)
    if kind == "read":
        return task_read(task)
    if kind == "naive":
        return task_naive(task, t_start, c_start)
    if kind == "floor_process":
        return task_floor_process(task, t_start, c_start)
    if kind == "check":
        return store_check(task["root"], task.get("store_url") or "")
    raise ValueError(kind)


# =====================================================================================
# Driver
# =====================================================================================

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_admin():
    import psycopg

    return psycopg.connect(os.environ.get("MONITOR_BENCH_PG", PG_ADMIN), autocommit=True, connect_timeout=5)


def pg_database(name: str, template: str | None = None) -> str:
    """A fresh database ``name`` on the benchmark's PostgreSQL server (made again if it
    exists; cloned from ``template`` if given); its store URL."""
    with _pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or "template0"}" ENCODING \'UTF8\'')
    import sqlalchemy as sa

    url = sa.make_url(os.environ.get("MONITOR_BENCH_PG", PG_ADMIN)).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_databases(*names: str) -> None:
    with _pg_admin() as c:
        for name in names:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_worker(task: dict, in_process: bool) -> dict:
    """Run one measurement; in a fresh process its peak memory is the child's own ru_maxrss."""
    if in_process:
        import resource

        result = worker_main(task)
        result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)],
                            stdout=subprocess.PIPE, cwd=REPO)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {task['task']} failed with exit code {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["maxrss_mb"] = usage.ru_maxrss / 1024        # kilobytes on Linux
    return result


def best_of(n: int, task: dict, in_process: bool) -> dict:
    runs = [run_worker(task, in_process) for _ in range(n)]
    best = min(runs, key=lambda r: r["seconds"])
    best["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
    return best


def dag_report() -> dict:
    """`airflow dags report -o json` in a throw-away AIRFLOW_HOME: Airflow's own parse timing."""
    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    airflow = str(Path(sys.executable).parent / "airflow")
    try:
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, cwd=REPO)
        out = subprocess.run([airflow, "dags", "report", "-o", "json"], env=env, check=True,
                             capture_output=True, text=True, cwd=REPO).stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report = json.loads(out[out.index("["):])
    files = {}
    for r in report:
        h, m, sec = r["duration"].split(":")
        files[r["file"]] = int(h) * 3600 + int(m) * 60 + float(sec)
    return {"files": files}


SIZE_LABEL = {"region": "region", "national": "national", "big": "200k workbook"}
STAGES = [  # (label, parts)
    ("read", ["safety", "load_grids", "screen", "parse"]),
    ("  safety (zip checks, full inflate)", ["safety"]),
    ("  load + locate (fastexcel)", ["load_grids"]),
    ("  personal-data screen", ["screen"]),
    ("  parse (headers, values)", ["parse"]),
    ("validate (GX + contract)", ["validate"]),
    ("store", ["tidy", "record"]),
    ("  tidy", ["tidy"]),
    ("  Store.record", ["record"]),
    ("dataset assembly", ["dataset"]),
    ("workbook", ["workbook"]),
]


def _fmt_int(n: int) -> str:
    return f"{n:,}" if n else ""


def _fmt_rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if rows and seconds > 0 else ""


def render(results: dict, targets: list[tuple[str, str, bool | None]]) -> str:
    lines = [f"store: {results.get('store', 'sqlite')}"]
    fresh = "same process" if results.get("quick") else "fresh process"
    hdr = f"{'size':<14} {'stage':<36} {'seconds':>9} {'cpu s':>8} {'peak MB':>9} {'rows':>10} {'rows/s':>11}"
    lines += [hdr, "-" * len(hdr)]
    for size in ("region", "national", "big"):
        st = results.get("stages", {}).get(size)
        if not st:
            continue
        label = SIZE_LABEL[size]
        for name, parts in [("imports (etl, pandas)", ["imports"]), ("GX import + context (once/process)", ["gx_setup"])] + STAGES:
            secs = sum(st["times"].get(p, 0.0) for p in parts)
            cpu = sum(st["cpu"].get(p, 0.0) for p in parts)
            peak = max((st["peak_mb"].get(p, 0.0) for p in parts), default=0.0)
            rows = st["rows"].get(parts[0], 0)
            lines.append(f"{label:<14} {name:<36} {secs:>9.3f} {cpu:>8.3f} {peak:>9.0f} {_fmt_int(rows):>10} {_fmt_rate(rows, secs):>11}")
            label = ""
        e2e = results.get("e2e", {}).get(size)
        if e2e:
            lines.append(f"{'':<14} {'INTAKE END TO END, ' + fresh:<36} {e2e['seconds']:>9.3f} {e2e['cpu_seconds']:>8.3f} {e2e['maxrss_mb']:>9.0f} "
                         f"{st['data_rows']:>10,} {_fmt_rate(st['data_rows'], e2e['seconds']):>11}")
            p = e2e["parts"]
            if len(e2e.get("runs_seconds", ())) > 1:
                lines.append(f"{'':<14} {'  (best of ' + ', '.join(f'{x:.2f}' for x in e2e['runs_seconds']) + ')'}")
            lines.append(f"{'':<14} {'  = start-up':<36} {p['imports']:>9.3f}")
            lines.append(f"{'':<14} {'  + process_inbox (moves, receipts)':<36} {p['process_inbox']:>9.3f}")
            lines.append(f"{'':<14} {'  + dataset + workbook':<36} {p['dataset'] + p['workbook']:>9.3f}")
            ck = e2e.get("check")
            if ck:
                orgs = ", ".join(f"{b} {n}" for b, n in sorted(ck["organisations"].items()))
                lines.append(f"{'':<14}   store check: {ck['current_deliveries']} current (delivery, quarter), "
                             f"organisations {orgs}; {ck['duplicate_current']} duplicate current, "
                             f"{ck['duplicate_values']} duplicate values")
        rep = results.get("report", {}).get(size)
        if rep:
            lines.append(f"{'':<14} {'QUARTERLY REPORT, ' + fresh:<36} {rep['seconds']:>9.3f} {rep['cpu_seconds']:>8.3f} {rep['maxrss_mb']:>9.0f} "
                         f"{rep['rows']:>10,} {_fmt_rate(rep['rows'], rep['seconds']):>11}")
            lines.append(f"{'':<14} {'  (' + ', '.join(f'{k} {v:.2f}' for k, v in rep['parts'].items()) + ')'}")
            if len(rep.get("runs_seconds", ())) > 1:
                lines.append(f"{'':<14} {'  (best of ' + ', '.join(f'{x:.2f}' for x in rep['runs_seconds']) + ')'}")
        lines.append("")
    rd, nv, fp = results.get("read"), results.get("naive"), results.get("floor_process")
    if rd:
        b, c = rd["best"], rd["best_cpu"]
        lines.append(f"200k workbook, best of {results['repeats']} in one process (reader limit = bare fastexcel read into Arrow, every sheet):")
        lines.append(f"  {'':<40} {'wall s':>8} {'x fastexcel':>11} {'cpu s':>8} {'x fastexcel':>11}")
        for key, label in (("floor", "unzip floor (inflate XML, count <row)"), ("fastexcel", "bare fastexcel read (reader limit)"),
                           ("calamine", "bare python_calamine to_python"),
                           ("read_core", "read core (load + locate + parse)"),
                           ("load_grids", "  of which load + locate"), ("parse", "  of which parse"),
                           ("screen", "personal-data screen"), ("read_stage", "READ STAGE (load, screen, parse)"),
                           ("safety", "safety (full inflate + checks)"), ("read_all", "read incl. safety")):
            lines.append(f"  {label:<40} {b[key]:>8.3f} {b[key] / b['fastexcel']:>11.2f} {c[key]:>8.3f} {c[key] / c['fastexcel']:>11.2f}")
    e2e = results.get("e2e", {}).get("big")
    if fp:
        p = fp["parts"]
        lines.append("  fresh-process floor: " + ", ".join(f"{k} {v:.2f}" for k, v in p.items())
                     + f"  = {fp['seconds']:.2f} s wall, {fp['cpu_seconds']:.2f} s cpu (peak {fp['maxrss_mb']:.0f} MB)"
                     + (f"  (best of {', '.join(f'{x:.2f}' for x in fp['runs_seconds'])})" if len(fp.get("runs_seconds", ())) > 1 else ""))
        if e2e:
            lines.append(f"  ours, fresh process (intake + dataset + workbook) {e2e['seconds']:.2f} s wall, {e2e['cpu_seconds']:.2f} s cpu, "
                         f"peak {e2e['maxrss_mb']:.0f} MB: ours / floor = {e2e['seconds'] / fp['seconds']:.2f}x wall, "
                         f"{e2e['cpu_seconds'] / fp['cpu_seconds']:.2f}x cpu")
    if nv:
        p = nv["parts"]
        lines.append("  naive path, fresh process: " + ", ".join(f"{k} {v:.2f}" for k, v in p.items())
                     + f"  = {nv['seconds']:.2f} s wall, {nv['cpu_seconds']:.2f} s cpu (peak {nv['maxrss_mb']:.0f} MB)")
        if e2e:
            lines.append(f"  naive / ours = {nv['seconds'] / e2e['seconds']:.1f}x wall, {nv['cpu_seconds'] / e2e['cpu_seconds']:.1f}x cpu; "
                         f"naive read alone (read_excel) / ours = {p['read_excel'] / e2e['seconds']:.1f}x wall")
    lat = results.get("latency")
    if lat:
        lines.append("")
        lines.append(f"drop -> receipt on the loopback CeleryExecutor stack ({lat['files']} files, MONITOR_STABLE_SECONDS={lat['stable_seconds']}, "
                     f"{lat['settings']}): p50 {lat['p50']:.1f} s, max {lat['max']:.1f} s, min {lat['min']:.1f} s")
        if lat.get("task"):
            lines.append("  per task (Airflow task instances): " + ", ".join(f"{k} {v:.1f} s" for k, v in lat["task"].items()))
    dags = results.get("dags")
    if dags:
        lines.append("")
        lines.append("DAG parse (airflow dags report): " + ", ".join(f"{f} {s:.3f} s" for f, s in dags["files"].items()))
    lines.append("")
    lines.append("Targets (issue 16):")
    for name, value, ok in targets:
        mark = "n/a" if ok is None else ("MET" if ok else "NOT MET")
        lines.append(f"  [{mark:^7}] {name}: {value}")
    return "\n".join(lines)


def evaluate(results: dict) -> list[tuple[str, str, bool | None]]:
    """The targets of issue 16, judged on the figures of this run."""
    t = []
    where = "shared process" if results.get("quick") else "fresh process"
    rd, nv, fp, e2e = results.get("read"), results.get("naive"), results.get("floor_process"), results.get("e2e", {})
    if rd:
        b, c = rd["best"], rd["best_cpu"]
        r = b["read_stage"] / b["fastexcel"]
        t.append(("read stage of the 200k workbook <= 1.5x a bare fastexcel read",
                  f"{r:.2f}x wall ({b['read_stage']:.2f} s vs {b['fastexcel']:.2f} s), {c['read_stage'] / c['fastexcel']:.2f}x cpu; "
                  f"read core alone {b['read_core'] / b['fastexcel']:.2f}x; python_calamine / fastexcel = {b['calamine'] / b['fastexcel']:.2f}x", r <= 1.5))
    if fp and "big" in e2e:
        big = e2e["big"]
        r = big["seconds"] / fp["seconds"]
        t.append(("whole-process intake of the 200k workbook <= 1.5x (start-up + GX + bare fastexcel read)",
                  f"{r:.2f}x wall ({big['seconds']:.1f} s vs {fp['seconds']:.1f} s), {big['cpu_seconds'] / fp['cpu_seconds']:.2f}x cpu", r <= 1.5))
    if nv and "big" in e2e:
        big = e2e["big"]
        r, r_read = nv["seconds"] / big["seconds"], nv["parts"]["read_excel"] / big["seconds"]
        t.append((">= 15x faster than the naive path, >= 5x than the naive read alone, peak < 1 GB",
                  f"{r:.1f}x naive ({big['seconds']:.1f} s vs {nv['seconds']:.1f} s), {r_read:.1f}x naive read; peak {big['maxrss_mb']:.0f} MB",
                  r >= 15 and r_read >= 5 and big["maxrss_mb"] < 1024))
    if "national" in e2e:
        n = e2e["national"]
        t.append(("national quarter end to end < 30 s",
                  f"{n['seconds']:.1f} s wall ({n['cpu_seconds']:.1f} s cpu), peak {n['maxrss_mb']:.0f} MB",
                  n["seconds"] < 30))
    rep = results.get("report", {}).get("region")
    if rep:
        t.append(("region quarterly workbook < 5 s (issue 6)",
                  f"{rep['seconds']:.2f} s wall ({rep['cpu_seconds']:.2f} s cpu) in a {where} (export_quarter + build_workbook, imports included)"
                  + (f"; the region's intake of the quarter {e2e['region']['seconds']:.2f} s" if "region" in e2e else ""),
                  rep["seconds"] < 5))
    lat = results.get("latency")
    if lat:
        t.append(("drop -> receipt p50 < 15 s on the loopback stack", f"p50 {lat['p50']:.1f} s, max {lat['max']:.1f} s over {lat['files']} files",
                  lat["p50"] < 15))
    if results.get("dags"):
        worst = max(results["dags"]["files"].values())
        t.append(("each DAG file parses < 0.3 s", f"slowest {worst:.3f} s", worst < 0.3))
    if results.get("quick"):
        t = [(n, v, None) for n, v, _ in t]          # tiny sizes say nothing about the targets
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, in one process (smoke test; no targets)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="cache and results folder (default bench/out)")
    ap.add_argument("--sizes", default="region,national,big", help="comma-separated subset of region,national,big")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive path (about 90 s at full size)")
    ap.add_argument("--dags", action=argparse.BooleanOptionalAction, default=None,
                    help="measure DAG parsing with `airflow dags report` (default: on, off with --quick)")
    ap.add_argument("--latency", action="store_true",
                    help="also measure drop -> receipt over 20 files on the loopback CeleryExecutor stack (bench/latency.py, ~10 min)")
    ap.add_argument("--latency-files", type=int, default=20)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="the store the runs write to: the embedded SQLite file (default) or a fresh database "
                         "per run on the PostgreSQL server of MONITOR_BENCH_PG (default "
                         f"{PG_ADMIN}; start it with scripts/ensure-services.sh)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker_main(json.loads(args.worker))))
        return 0

    load_before = os.getloadavg()
    sz = QUICK if args.quick else FULL
    in_process = args.quick
    sizes = [s for s in args.sizes.split(",") if s]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plan = prepare_inputs(args.out, sz)
    results: dict = {"quick": args.quick, "repeats": sz["repeats"], "sizes": sz, "stages": {}, "e2e": {}, "report": {},
                     "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                     "started": dt.datetime.now().isoformat(timespec="seconds")}
    # National last: in-process its reference override is swapped in and out again.
    results["store"] = args.store
    pg = args.store == "postgresql"
    for size in [s for s in ("region", "big", "national") if s in sizes]:
        spec = plan[size]
        if pg:
            spec = {**spec, "store_url": pg_database(f"bench_{size}")}
        print(f"  {SIZE_LABEL[size]}: stages ...", file=sys.stderr)
        results["stages"][size] = run_worker({"task": "stages", **spec}, in_process)
        print(f"  {SIZE_LABEL[size]}: end to end ...", file=sys.stderr)
        keep = args.out / "work" / f"{size}-data"
        base = None
        if spec["history"]:
            base = args.out / "work" / f"{size}-history"
            shutil.rmtree(base, ignore_errors=True)
            history_url = pg_database(f"bench_{size}_history") if pg else ""
            run_worker({"task": "history", "history": spec["history"], "keep": str(base), "store_url": history_url},
                       in_process)
        # Fresh-process runs are repeated (best wall time kept, all listed) where that is cheap:
        # other processes on this shared machine stretch single runs.
        n = 1 if size == "national" else sz["repeats"]
        runs = []
        for _ in range(n):
            # Each run starts from the history alone: a fresh database cloned from the history's
            # (PostgreSQL's CREATE DATABASE ... TEMPLATE, the counterpart of copying the folder).
            url = pg_database(f"bench_{size}", template=f"bench_{size}_history" if base else None) if pg else ""
            runs.append(run_worker({"task": "e2e", **spec, "store_url": url, "keep": str(keep),
                                    "base": str(base) if base else None}, in_process))
        results["e2e"][size] = best = min(runs, key=lambda r: r["seconds"])
        best["runs_seconds"] = [round(r["seconds"], 3) for r in runs]
        results["e2e"][size]["check"] = run_worker({"task": "check", "root": str(keep), "store_url": url}, in_process)
        if base:
            shutil.rmtree(base, ignore_errors=True)
        print(f"  {SIZE_LABEL[size]}: quarterly report ...", file=sys.stderr)
        results["report"][size] = best_of(n, {"task": "report", "data": str(keep), "periode": spec["periode"],
                                              "reference": spec["reference"], "store_url": url}, in_process)
        shutil.rmtree(keep, ignore_errors=True)
        if pg:
            drop_databases(f"bench_{size}", f"bench_{size}_history")
    if "big" in sizes:
        big_file, folder = plan["big"]["files"][0]
        bron = folder.split("/")[0]
        print("  200k workbook: floor and read ...", file=sys.stderr)
        results["read"] = run_worker({"task": "read", "file": big_file, "bron": bron, "repeats": sz["repeats"]}, in_process)
        print("  200k workbook: fresh-process floor ...", file=sys.stderr)
        results["floor_process"] = best_of(sz["repeats"], {"task": "floor_process", "file": big_file}, in_process)
        if not args.no_naive:
            print("  200k workbook: naive path ...", file=sys.stderr)
            results["naive"] = run_worker({"task": "naive", "file": big_file, "bron": bron}, in_process)
    if args.latency:
        print("  loopback stack: drop -> receipt ...", file=sys.stderr)
        sys.path.insert(0, str(BENCH_DIR))
        from latency import measure

        try:
            results["latency"] = measure(args.latency_files)
        except Exception as exc:  # noqa: BLE001 - the rest of the table still stands; say why this part is missing
            print(f"  latency measurement failed: {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr)
            results["latency_error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
    if args.dags if args.dags is not None else not args.quick:
        print("  DAG parse report ...", file=sys.stderr)
        results["dags"] = dag_report()
    targets = evaluate(results)
    results["targets"] = [{"target": n, "value": v, "met": ok} for n, v, ok in targets]
    results["bench_seconds"] = time.perf_counter() - t0
    results["loadavg"] = {"before": load_before, "after": os.getloadavg()}
    (args.out / ("results-quick.json" if args.quick else "results.json")).write_text(json.dumps(results, indent=2))
    print(f"\ncommand: {' '.join(['python', 'bench/run.py', *(argv if argv is not None else sys.argv[1:])])}"
          f"   ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {dt.datetime.now():%Y-%m-%d %H:%M}; "
          f"load average {load_before[0]:.1f} before, {results['loadavg']['after'][0]:.1f} after; "
          f"{results['bench_seconds'] / 60:.1f} min)\n")
    print(render(results, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
