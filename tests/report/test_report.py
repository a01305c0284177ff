"""The quarterly workbook, read back: numbers, suppression, statistics, charts, craft, rendering.

Built once from the eight quarters of sample deliveries (a copy of the session's
ingested store), then opened with openpyxl and, for the charts, read as XML (openpyxl
does not load charts). Expected values come from the dataset and from etl.report.stats, not
from the report's own intermediate objects, wherever that is possible.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
import sqlite3
import subprocess
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import openpyxl
import pytest
import yaml
from defusedxml import ElementTree as ET

from etl.core.catalogue import load_catalogue
from etl.core.config import DataDirs
from etl.core.reference import gemeenten, inhabitants, wijken, wijken_of
from etl.core.sources import INCLUDE_DIR, load_sources
from etl.core.xlsx_safe import formula_cells
from etl.report import SHEET_ORDER, build_workbook, stats
from etl.report.disclosure import Constraint
from etl.report.style import FMT_COUNT, FMT_DEC1, FMT_META, FMT_PCT
from etl.store.dataset import load
from tests.report.test_disclosure import linear_leaks

PERIODE = "2024Q4"
MADE_AT = dt.datetime(2025, 1, 5, 6, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
HIDDEN = ("<5", "x")
NAMES = {g.naam: g.code for g in gemeenten()}
NS = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


# --------------------------------------------------------------------------- fixtures


def copy_store(src: DataDirs, root: Path) -> DataDirs:
    """A private copy of the ingested store (SQLite backup API: consistent even in WAL mode)."""
    dirs = DataDirs(root).ensure()
    with sqlite3.connect(src.db_path) as a, sqlite3.connect(dirs.db_path) as b:
        a.backup(b)
    return dirs


@pytest.fixture(scope="module")
def dirs(ingested_samples, tmp_path_factory) -> DataDirs:
    src, _ = ingested_samples
    return copy_store(src, tmp_path_factory.mktemp("report") / "data")


@pytest.fixture(scope="module")
def path(dirs) -> Path:
    return build_workbook(PERIODE, dirs, made_at=MADE_AT)


@pytest.fixture(scope="module")
def wb(path):
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def dataset(dirs):
    return load(None, dirs)


def exact(ds, bron, gtype, code, ind, periode=PERIODE):
    hit = ds[(ds.periode == periode) & (ds.bron == bron) & (ds.gebied_type == gtype) & (ds.gebied_code == code)
             & (ds.indicator == ind)]
    assert len(hit) == 1, (bron, gtype, code, ind)
    v = hit.iloc[0].waarde
    return None if v != v else float(v)


# --------------------------------------------------------------------------- reading tables back


def tables(ws) -> list[dict]:
    """Every table on a sheet: a header row in the header style and the rows below it until an empty A cell."""
    out = []
    for row in ws.iter_rows():
        first = row[0]
        if first.style == "kop_links" and first.value:
            headers = [c.value for c in row if c.value is not None]
            body = []
            r = first.row + 1
            while ws.cell(r, 1).value not in (None, ""):
                body.append([ws.cell(r, c).value for c in range(1, len(headers) + 1)])
                r += 1
            out.append({"row": first.row, "headers": headers, "rows": body})
    return out


def table_with(ws, *headers) -> dict:
    for t in tables(ws):
        if all(h in t["headers"] for h in headers):
            return t
    raise AssertionError(f"no table with {headers} on {ws.title}")


def column(t: dict, header: str) -> dict[str, object]:
    i = t["headers"].index(header)
    return {r[0]: r[i] for r in t["rows"]}


def unknown(v) -> bool:
    return v in HIDDEN or v == "ontbreekt"


# --------------------------------------------------------------------------- structure and craft


def test_sheets_in_order(wb):
    assert tuple(wb.sheetnames) == SHEET_ORDER


def test_craft_frozen_panes_print_setup_no_gridlines_no_protection(wb):
    for ws in wb.worksheets:
        assert ws.sheet_view.showGridLines is False, ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert not ws.protection.sheet, ws.title
    for name in ("Samenvatting", "Veilig Thuis", "WIJ", "Vrouwenopvang", "Datakwaliteit", "Definities", "Data"):
        assert wb[name].freeze_panes, name
        assert wb[name].print_title_rows, name
    for ws in wb.worksheets:  # every used column has a width that was set, not Excel's default
        for letter in {c.column_letter for row in ws.iter_rows() for c in row if c.value not in (None, "")}:
            assert ws.column_dimensions[letter].width, (ws.title, letter)


def test_no_formulas_macros_or_external_links(path):
    assert formula_cells(path) == []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert not any("vbaProject" in n or n.startswith("xl/externalLinks") for n in names)
        for n in names:
            if n.endswith(".rels"):
                assert b'TargetMode="External"' not in zf.read(n), n


def test_data_sheet_is_a_filterable_table(wb, dataset):
    ws = wb["Data"]
    assert list(ws.tables) == ["Dataset"]
    ref = ws.tables["Dataset"].ref
    first, last = (int(x) for x in re.findall(r"\d+", ref))
    assert last - first == len(dataset[dataset.periode == PERIODE])


# --------------------------------------------------------------------------- numbers against the dataset


def test_veilig_thuis_meldingen_equal_the_dataset_after_suppression(wb, dataset):
    t = table_with(wb["Veilig Thuis"], "Gemeente", "Meldingen", "Inwoners")
    shown = column(t, "Meldingen")
    assert set(shown) == {*NAMES, "Regio totaal"}
    for name, v in shown.items():
        code = NAMES.get(name)
        truth = exact(dataset, "veilig_thuis", "regio" if code is None else "gemeente", code or "regio", "meldingen_totaal")
        if v == "<5":
            assert 1 <= truth <= 4
        elif v != "x":
            assert v == truth, name
    # Every visible count in every per-gemeente block is the exact dataset value.
    for t in tables(wb["Veilig Thuis"]):
        if t["headers"][0] != "Gemeente":
            continue
        cat = load_catalogue()
        keys = {ind.label: ind.key for ind in cat.shown() if ind.bron == "veilig_thuis" and ind.soort == "aantal"}
        for header in t["headers"]:
            if header not in keys:
                continue
            for name, v in column(t, header).items():
                if isinstance(v, (int, float)):
                    code = NAMES.get(name)
                    assert v == exact(dataset, "veilig_thuis", "regio" if code is None else "gemeente",
                                      code or "regio", keys[header]), (header, name)


def test_wij_and_vrouwenopvang_counts_equal_the_dataset(wb, dataset):
    t = table_with(wb["WIJ"], "Wijk", "Actieve casussen")
    for name, v in column(t, "Actieve casussen").items():
        if name in {w.naam for w in wijken()} and isinstance(v, (int, float)):
            assert v == exact(dataset, "wij", "wijk", name, "casussen_actief")
    city = column(t, "Nieuwe casussen")["Totaal gemeente Groningen"]
    assert city == exact(dataset, "wij", "gemeente", "GM0014", "casussen_nieuw")
    north = column(t, "Nieuwe casussen")["Subtotaal noordelijke wijken"]
    assert north == sum(exact(dataset, "wij", "wijk", w.naam, "casussen_nieuw") for w in wijken() if w.noordelijk)
    t = table_with(wb["Vrouwenopvang"], "Gemeente van herkomst", "Aanmeldingen")
    assert column(t, "Aanmeldingen")["Regio totaal"] == exact(dataset, "vrouwenopvang", "regio", "regio", "aanmeldingen")


def test_data_sheet_values_follow_the_dataset(wb, dataset):
    ws = wb["Data"]
    t = table_with(ws, "Kwartaal", "Gebied", "Waarde", "Sleutel van de indicator")
    soort = {(i.bron, i.key): i.soort for i in load_catalogue().indicators.values()}
    bron_of = {s.naam: s.key for s in load_sources().values()}
    type_of = {"gemeente": "gemeente", "regio": "regio", "wijk": "wijk", "groep wijken": "wijkgroep"}
    for row in t["rows"]:
        periode, bron_name, gtype_nl, gebied, code, label, v, status, reason, ind, levering, *_ = row   # herkomst: tests/tools/test_herkomst.py
        bron, gtype = bron_of[bron_name], type_of[gtype_nl]
        code = code if gtype in ("gemeente", "regio") else gebied
        truth = exact(dataset, bron, gtype, code, ind)
        assert label == load_catalogue().label(bron, ind) and levering
        assert "_" not in status, row  # the status in words, not the dataset's code
        if isinstance(v, (int, float)):
            assert v == pytest.approx(truth), row
        elif v == "<5":
            assert status.startswith("door de partner") or 1 <= truth <= 4
        elif v == "x":
            assert reason in ("secundair", "afgeleid") or status.startswith("onbekend")
        else:
            assert v == "ontbreekt" and truth is None
        if soort[(bron, ind)] == "aantal" and truth is not None and 1 <= truth <= 4:
            assert v == "<5"


# --------------------------------------------------------------------------- suppression


def _is_count_format(cell) -> bool:
    return cell.number_format in (FMT_COUNT, "General", FMT_META)


def test_no_visible_count_of_1_to_4_anywhere(wb):
    """Exempt, precisely: numbers in a format with a decimal or a percent sign (rates, shares,
    days, interval bounds and control limits: measures, never counts of people) and numbers in
    the ``metagetal`` style, used only on Datakwaliteit for counts of checks and cells."""
    offenders = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, str) and v.strip() in {"1", "2", "3", "4"}:
                    offenders.append((ws.title, c.coordinate, v))
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue
                if c.style == "metagetal":
                    assert ws.title == "Datakwaliteit", (ws.title, c.coordinate)
                    continue
                if float(v).is_integer() and 1 <= v <= 4 and _is_count_format(c):
                    offenders.append((ws.title, c.coordinate, v))
                if c.number_format not in (FMT_COUNT, FMT_DEC1, FMT_PCT):
                    offenders.append((ws.title, c.coordinate, f"unexpected number format {c.number_format!r}"))
    assert offenders == []


def _check_constraints(cells: dict, constraints: list[Constraint], where: str) -> None:
    """No hidden cell follows from one equation, nor from all of them together."""
    class R:
        def __init__(self, v):
            self.reason = None if isinstance(v, (int, float)) else "u"
            self.hidden = v in HIDDEN
    result = {k: R(v) for k, v in cells.items()}
    for c in constraints:
        members = (c.total, *c.parts)
        unk = [k for k in members if result[k].reason]
        assert not (len(unk) == 1 and result[unk[0]].hidden), (where, c, [cells[k] for k in members])
    assert linear_leaks(result, constraints) == [], where


def test_secondary_suppression_holds_on_veilig_thuis(wb):
    ws = wb["Veilig Thuis"]
    cells, cons = {}, []
    names = [*NAMES, "Regio totaal"]
    kinds = table_with(ws, "Gemeente", "Meldingen kindermishandeling")
    melders = table_with(ws, "Gemeente", "Melder: politie")
    first = table_with(ws, "Gemeente", "Inwoners")
    her = table_with(ws, "Gemeente", "Hermeldingen")
    for t, cols in ((kinds, kinds["headers"][1:]), (melders, melders["headers"][1:]),
                    (first, ["Adviezen", "Meldingen", "Unieke casussen", "Tijdelijke huisverboden", "ICM-trajecten gestart"]),
                    (her, ["Hermeldingen"])):
        for h in cols:
            for name, v in column(t, h).items():
                key = (name, h)
                assert cells.get(key, v) == v, ("the same cell differs between tables", key)
                cells[key] = v
    kind_parts = [h for h in kinds["headers"][1:] if h != "Meldingen"]
    for name in names:
        cons.append(Constraint((name, "Meldingen"), tuple((name, h) for h in kind_parts)))
        cons.append(Constraint((name, "Meldingen"), tuple((name, h) for h in melders["headers"][1:-1])))
    for h in {h for (_, h) in cells}:
        cons.append(Constraint(("Regio totaal", h), tuple((n, h) for n in NAMES)))
    _check_constraints(cells, cons, "Veilig Thuis")
    assert any(v in HIDDEN for v in cells.values())


def test_secondary_suppression_holds_on_wij_including_nazorg_counts(wb):
    t = table_with(wb["WIJ"], "Wijk", "Actieve casussen")
    north = [w.naam for w in wijken_of("GM0014") if w.noordelijk]
    other = [w.naam for w in wijken_of("GM0014") if not w.noordelijk]
    subs = {"N": "Subtotaal noordelijke wijken", "O": "Subtotaal overige wijken", "C": "Totaal gemeente Groningen"}
    counts = ["Nieuwe casussen", "Actieve casussen", "Afgesloten casussen", "Doorverwezen naar Veilig Thuis",
              "Kinderen betrokken", "Groepen (groepsaanbod)", "Deelnemers groepsaanbod", "Nazorg onbekend"]
    cells, cons = {}, []
    for h in counts:
        for name, v in column(t, h).items():
            cells[(name, h)] = 0 if v == "–" else v  # "–" = no group programme: a reader takes it as 0
    # The nazorg count a reader gets back from a shown share times the cases whose nazorg is
    # known (shown closed cases minus shown "nazorg onbekend").
    share, closed, unknown = column(t, "Nazorg-aandeel"), column(t, "Afgesloten casussen"), column(t, "Nazorg onbekend")
    for name in share:
        s, c, u = share[name], closed[name], unknown[name]
        known = c - u if isinstance(c, (int, float)) and isinstance(u, (int, float)) else None
        cells[(name, "nazorg")] = round(s * known) if isinstance(s, float) and known is not None else (
            "x" if s in HIDDEN else "ontbreekt")
    for h in [*counts, "nazorg"]:
        cons.append(Constraint((subs["N"], h), tuple((w, h) for w in north)))
        cons.append(Constraint((subs["O"], h), tuple((w, h) for w in other)))
        cons.append(Constraint((subs["C"], h), ((subs["N"], h), (subs["O"], h))))
        cons.append(Constraint((subs["C"], h), tuple((w, h) for w in north + other)))
    _check_constraints(cells, cons, "WIJ")


def test_secondary_suppression_holds_on_vrouwenopvang(wb):
    t = table_with(wb["Vrouwenopvang"], "Gemeente van herkomst", "Aanmeldingen")
    cells, cons = {}, []
    for h in t["headers"][1:]:
        for name, v in column(t, h).items():
            cells[(name, h)] = v
        cons.append(Constraint(("Regio totaal", h), tuple((n, h) for n in NAMES)))
    _check_constraints(cells, cons, "Vrouwenopvang")
    assert sum(v in HIDDEN for v in cells.values()) > 10  # small numbers: much is hidden


def test_rates_and_shares_on_hidden_counts_are_hidden(wb):
    her = table_with(wb["Veilig Thuis"], "Gemeente", "Hermeldingen", "Hermelding-aandeel")
    for row in her["rows"]:
        n_her, share = row[2], row[3]
        if n_her in HIDDEN:
            assert share == "x" and row[4] == "x" and row[5] == "x", row
    t = table_with(wb["WIJ"], "Wijk", "Afgesloten casussen")
    for name, n in column(t, "Afgesloten casussen").items():
        if n in HIDDEN:
            assert column(t, "Duur mediaan (dagen)")[name] == "x"
            assert column(t, "Nazorg-aandeel")[name] == "x"


# --------------------------------------------------------------------------- statistics agree with etl.report.stats


def test_veilig_thuis_rates_intervals_and_comparison(wb, dataset):
    t = table_with(wb["Veilig Thuis"], "Gemeente", "Inwoners")
    region = exact(dataset, "veilig_thuis", "regio", "regio", "meldingen_totaal")
    region_pop = sum(inhabitants(g.code, 2024) for g in gemeenten())
    ref = region / region_pop * 1000
    verdicts = set()
    for row in t["rows"]:
        name, pop, meld, rate, lo, hi, verdict = row[0], row[1], row[3], row[4], row[5], row[6], row[7]
        if name == "Regio totaal":
            assert pop == region_pop and rate == pytest.approx(ref)
            continue
        assert pop == inhabitants(NAMES[name], 2024)
        est = stats.rate_interval(int(meld), pop)
        assert (rate, lo, hi) == pytest.approx((est.rate, est.lower, est.upper))
        assert verdict == stats.compare_to_reference(int(meld), ref, pop, 0.95)
        verdicts.add(verdict)
    assert verdicts <= {"hoger", "lager", "vergelijkbaar"}


def test_wij_nazorg_interval_and_comparison_at_99_8(wb, dataset):
    """One confidence level per comparison: the interval shown is the 99.8% one the verdict uses."""
    t = table_with(wb["WIJ"], "Wijk", "Nazorg-aandeel")
    city = exact(dataset, "wij", "gemeente", "GM0014", "nazorg_aandeel")
    checked = 0
    for row in t["rows"]:
        name = row[0]
        if name not in {w.naam for w in wijken()} or not isinstance(row[7], float):
            continue
        # One definition: k and n are the stored counts (n = closed cases whose nazorg is known).
        n = int(exact(dataset, "wij", "wijk", name, "nazorg_bekend"))
        k = int(exact(dataset, "wij", "wijk", name, "nazorg_aantal"))
        assert k / n == pytest.approx(row[7])
        assert n + exact(dataset, "wij", "wijk", name, "nazorg_onbekend") == exact(dataset, "wij", "wijk", name, "casussen_afgesloten")
        iv = stats.wilson_interval(k, n, stats.LEVEL_WIJK)
        assert (row[8], row[9]) == pytest.approx((iv.lower, iv.upper))
        assert row[10] == stats.compare_share_to_reference(k, n, city, stats.LEVEL_WIJK)
        expected = "vergelijkbaar" if iv.lower <= city <= iv.upper else ("hoger" if city < iv.lower else "lager")
        assert row[10] == expected, name
        checked += 1
    assert checked >= 8
    assert "99,8%-interval van" in t["headers"] and "95%-interval van" not in t["headers"]


def _trend_blocks(ws) -> dict[str, dict]:
    out = {}
    for t in tables(ws):
        if t["headers"][:2] != ["Kwartaal", "Waarde"]:
            continue
        title = ws.cell(t["row"] - 1, 1).value
        # Eight quarters; the line under them is a note.
        out[title] = {**t, "rows": t["rows"][:8], "verdict": ws.cell(t["row"] - 1, 7).value}
    return out


def test_summary_verdicts_and_trend_limits_agree_with_xmr(wb):
    raw = yaml.safe_load((INCLUDE_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    cat = load_catalogue()
    blocks = _trend_blocks(wb["Trends"])
    summary = table_with(wb["Samenvatting"], "Kernindicator", "Oordeel")
    verdict_col = summary["headers"].index("Oordeel")
    by_label = {(r[0], r[1]): r for r in summary["rows"] if r[1]}
    assert len(blocks) == len(raw["kernindicatoren"])
    for spec in raw["kernindicatoren"]:
        label = cat.label(spec["bron"], spec["indicator"])
        gebied = cat.gebieden[str(spec["gebied"])]
        block = blocks[f"{label} — {gebied}"]
        values = [r[1] if isinstance(r[1], (int, float)) else None for r in block["rows"]]
        res = stats.xmr(values)
        expected = stats.trend_verdict(res, spec["richting"])
        assert block["verdict"] == expected, label
        assert by_label[(label, gebied)][verdict_col] == expected, label
        if res.has_limits:
            assert all(r[3] == pytest.approx(res.mean) for r in block["rows"])
            upper = max(r[4] for r in block["rows"])
            assert upper == pytest.approx(min(res.upper_process_limit, 1.0) if cat.soort(spec["bron"], spec["indicator"]) == "aandeel"
                                          else res.upper_process_limit)
        # The summary's value for this quarter is the last point of the trend.
        if values[-1] is not None:
            assert by_label[(label, gebied)][3] == values[-1]
    assert any(b["verdict"] in ("verbetering", "aandachtspunt", "signaal") for b in blocks.values())


def test_summary_intervals_agree_with_stats(wb, dataset):
    t = table_with(wb["Samenvatting"], "Kernindicator", "Oordeel")
    rows = {r[0]: r for r in t["rows"] if r[1]}
    m = exact(dataset, "veilig_thuis", "regio", "regio", "meldingen_totaal")
    pop = sum(inhabitants(g.code, 2024) for g in gemeenten())
    est = stats.rate_interval(int(m), pop)
    assert rows["Meldingen per 1.000 inwoners"][3:6] == pytest.approx([est.rate, est.lower, est.upper])
    her = exact(dataset, "veilig_thuis", "regio", "regio", "hermeldingen")
    iv = stats.wilson_interval(int(her), int(m))
    assert rows["Hermelding-aandeel"][3:6] == pytest.approx([her / m, iv.lower, iv.upper])
    adv = exact(dataset, "veilig_thuis", "regio", "regio", "adviezen")
    iv = stats.poisson_interval(int(adv))
    assert rows["Adviezen"][3:6] == pytest.approx([adv, iv.lower, iv.upper])
    assert "minder dan 10" in rows["Wachtlijst opvang (einde kwartaal)"][11]  # 8 on the waiting list


def test_funnel_positions_agree_with_stats(wb, dataset):
    ws = wb["Funnelplots"]
    t = table_with(ws, "Gemeente", "Inwoners", "Meldingen per 1.000 inwoners")
    region = exact(dataset, "veilig_thuis", "regio", "regio", "meldingen_totaal")
    ref = region / sum(inhabitants(g.code, 2024) for g in gemeenten()) * 1000
    for name, pop, rate, position, *_ in t["rows"][:-1]:  # the last row is the reference
        limits = stats.funnel_limits_rate(ref, [pop])[0].limits
        lo95, hi95 = limits[0.95]
        lo998, hi998 = limits[0.998]
        expected = ("boven 99,8%-grens" if rate > hi998 else "onder 99,8%-grens" if rate < lo998 else
                    "boven 95%-grens" if rate > hi95 else "onder 95%-grens" if rate < lo95 else "binnen de grenzen")
        assert position == expected, name


# --------------------------------------------------------------------------- charts


def _charts(path: Path) -> dict[str, list[dict]]:
    """Sheet name -> charts, each {'type', 'title', 'series': [{'tx','cat','val','x','y'}]}, from the XML."""
    with zipfile.ZipFile(path) as zf:
        def rels(part):
            folder, name = part.rsplit("/", 1)
            p = f"{folder}/_rels/{name}.rels"
            if p not in zf.namelist():
                return {}
            root = ET.fromstring(zf.read(p))
            return {r.get("Id"): norm(r.get("Target")[1:] if r.get("Target").startswith("/")
                                      else folder + "/" + r.get("Target")) for r in root}

        def norm(p):
            parts = []
            for seg in p.split("/"):
                if seg == "..":
                    parts.pop()
                else:
                    parts.append(seg)
            return "/".join(parts)

        wbx = ET.fromstring(zf.read("xl/workbook.xml"))
        wrels = rels("xl/workbook.xml")
        out: dict[str, list[dict]] = {}
        for s in wbx.find("m:sheets", NS):
            sheet_part = wrels[s.get(f"{{{NS['r']}}}id")]
            charts = []
            for target in rels(sheet_part).values():
                if "drawings/" not in target:
                    continue
                for chart_part in rels(target).values():
                    root = ET.fromstring(zf.read(chart_part))
                    plot = root.find("c:chart/c:plotArea", NS)
                    kind = "line" if plot.find("c:lineChart", NS) is not None else (
                        "scatter" if plot.find("c:scatterChart", NS) is not None else "other")
                    head = root.find("c:chart/c:title", NS)
                    title = "" if head is None else "".join(
                        t.text or "" for t in head.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}t"))
                    series = []
                    for ser in plot.iter(f"{{{NS['c']}}}ser"):
                        refs = {}
                        for tag in ("tx", "cat", "val", "xVal", "yVal"):
                            f = ser.find(f"c:{tag}//c:f", NS)
                            refs[tag] = None if f is None else f.text
                        series.append(refs)
                    charts.append({"type": kind, "title": title, "series": series})
            out[s.get("name")] = charts
        return out


def _range(sheet: str, col: str, first: int, last: int) -> str:
    return f"'{sheet}'!${col}${first}:${col}${last}"


def test_trend_charts_point_at_their_tables(path, wb):
    charts = _charts(path)["Trends"]
    blocks = _trend_blocks(wb["Trends"])
    assert len(charts) == len(blocks) == len(load_catalogue().key_indicators)
    for chart, (title, block) in zip(charts, blocks.items(), strict=True):
        h = block["row"]
        assert chart["type"] == "line"
        label, gebied = title.split(" — ")
        assert chart["title"] == f"{label} ({gebied})"
        vals = [s["val"] for s in chart["series"]]
        assert vals == [_range("Trends", c, h + 1, h + 8) for c in "BDEF"]
        assert {s["cat"] for s in chart["series"]} == {_range("Trends", "A", h + 1, h + 8)}
        assert [s["tx"].replace("$", "") for s in chart["series"]] == [f"'Trends'!{c}{h}" for c in "BDEF"]


def test_funnel_charts_point_at_units_and_limit_lines(path, wb):
    charts = _charts(path)["Funnelplots"]
    ws = wb["Funnelplots"]
    assert [c["type"] for c in charts] == ["scatter"] * 4
    unit_tables = [t for t in tables(ws) if t["headers"][0] in ("Gemeente", "Wijk")]
    grid_tables = [t for t in tables(ws) if "95% onder" in t["headers"]]
    assert len(unit_tables) == len(grid_tables) == 4
    for chart, units, grid in zip(charts, unit_tables, grid_tables, strict=True):
        first, last = units["row"] + 1, units["row"] + len(units["rows"]) - 1  # minus the reference row
        # One series per unit, labelled with the letter in "Stip in grafiek" (the table beside the chart).
        n = last - first + 1
        for row, points in zip(range(first, last + 1), chart["series"][:n], strict=True):
            assert points["xVal"] == f"'Funnelplots'!$B${row}"
            assert points["yVal"] == f"'Funnelplots'!$C${row}"
            assert points["tx"].replace("$", "") == f"'Funnelplots'!F{row}"
        assert units["headers"][5] == "Stip in grafiek"
        letters = [r[5] for r in units["rows"][:-1] if isinstance(r[2], float)]
        assert len(set(letters)) == len(letters) and all(letters)
        g1, g2 = grid["row"] + 1, grid["row"] + len(grid["rows"])
        lines = chart["series"][n:]
        assert [s["yVal"] for s in lines] == [_range("Funnelplots", c, g1, g2) for c in "BCDEF"]
        assert {s["xVal"] for s in lines} == {_range("Funnelplots", "A", g1, g2)}
    titles = [c["title"] for c in charts]
    assert any("2024Q1–2024Q4" in t for t in titles) and any("Nazorg" in t for t in titles)


def test_charts_use_suppressed_values(wb):
    """A hidden unit is an empty chart cell (a gap), never its value and never a zero."""
    ws = wb["Funnelplots"]
    found = 0
    for t in tables(ws):
        if t["headers"][0] not in ("Gemeente", "Wijk"):
            continue
        for row in t["rows"][:-1]:
            if row[3] == "afgeschermd":
                assert row[2] is None and "afgeschermd" in row[4]
                found += 1
    assert found >= 1


# --------------------------------------------------------------------------- definitions


STRUCTURAL_HEADERS = {
    "Gemeente", "Gemeente van herkomst", "Wijk", "Gebied", "Kenmerk", "Waarde", "Inwoners", "Noordelijk",
    "95%-interval van", "95%-interval tot", "Vergeleken met regio (95%)", "Vergeleken met stad (99,8%)", "Opmerking",
    "99,8%-interval van", "99,8%-interval tot",
    "Toelichting", "Team geleverd?",
}


def test_definities_lists_every_indicator_in_the_workbook(wb):
    t = table_with(wb["Definities"], "Indicator", "Definitie", "Formule", "Afscherming")
    defined = {r[0] for r in t["rows"]}
    assert all(r[3] and r[5] for r in t["rows"])  # a definition and a suppression rule for each
    cat = load_catalogue()
    assert {i.label for i in cat.shown()} <= defined
    for row in table_with(wb["Data"], "Indicator", "Sleutel van de indicator")["rows"]:
        assert row[5] in defined, row
    for row in table_with(wb["Samenvatting"], "Kernindicator")["rows"]:
        assert row[0] in defined or row[0].startswith("Actielijn ")
    for name in ("Veilig Thuis", "WIJ", "Vrouwenopvang"):
        for tb in tables(wb[name]):
            for h in tb["headers"]:
                assert h in defined or h in STRUCTURAL_HEADERS, (name, h)
    methods = table_with(wb["Definities"], "Methode", "Uitleg")["rows"]
    assert len(methods) >= 6
    for name, text in [(r[0], r[1]) for r in methods]:
        sentences = [s for s in re.split(r"[.!?](?:\s|$)", text) if s.strip()]
        assert 2 <= len(sentences) <= 4, name


# --------------------------------------------------------------------------- voorblad and data quality


def test_voorblad_lists_deliveries_and_missing_plainly(wb, dirs):
    ws = wb["Voorblad"]
    text = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "05-01-2025 06:00" in text
    t = table_with(ws, "Bron", "Bestand", "Ontvangen op", "Vervangt", "Volledig?")
    assert {r[0] for r in t["rows"]} == {"Veilig Thuis Groningen", "WIJ Groningen", "Vrouwenopvang"}
    # "compleet" exactly for the deliveries without warnings (the messy samples have some).
    with sqlite3.connect(dirs.db_path) as conn:
        warned = {name: sum(p["severity"] == "waarschuwing" for p in json.loads(probs))
                  for name, probs in conn.execute("SELECT bestandsnaam, problemen FROM deliveries")}
    for r in t["rows"]:
        n = warned[r[1]]
        assert r[3] == "ja" and (r[5] == "compleet" if n == 0 else r[5].startswith(f"aangenomen met {n} waarschuwing")), r
    assert all(re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d", r[2]) for r in t["rows"])
    # The samples have WIJ Groningen only: the nine other local teams are named as missing.
    assert not any("Alle verwachte leveringen" in s for s in text)
    assert any(s.startswith("WIJ Groningen: 1 van de 10 organisaties heeft geleverd (WIJ Groningen). "
                            "Nog geen levering van Lokaal team Het Hogeland") for s in text)
    # Hashes and delivery ids are for the Data sheet, not for policy staff.
    with sqlite3.connect(dirs.db_path) as conn:
        ids = {i for (i,) in conn.execute("SELECT levering_id FROM deliveries")}
        hashes = {h[:12] for (h,) in conn.execute("SELECT sha256 FROM deliveries")}
    assert not [s for s in text if s in ids or any(h in s for h in hashes)]


def test_datakwaliteit_reports_checks_and_partner_suppression(wb):
    t = table_with(wb["Datakwaliteit"], "Bron", "Controles uitgevoerd")
    assert "Mislukt" not in t["headers"]  # one column for the checks that failed, not "0" beside "geen"
    vt = next(r for r in t["rows"] if r[0] == "Veilig Thuis Groningen")
    assert vt[4] == vt[5] and vt[4] > 10 and vt[6] == "geen"
    assert vt[8] == 1  # Pekela's ouderenmishandeling, delivered as <5
    partner = table_with(wb["Datakwaliteit"], "Bron", "Gebied", "Indicator")
    assert partner["rows"] == [["Veilig Thuis Groningen", "Pekela", "Meldingen ouderenmishandeling"]]


@pytest.fixture(scope="module")
def damaged_dirs(ingested_samples, tmp_path_factory) -> DataDirs:
    """A copy of the store without the Vrouwenopvang delivery for 2024Q4 and with a hostile file name."""
    src, _ = ingested_samples
    dirs = copy_store(src, tmp_path_factory.mktemp("damaged") / "data")
    with sqlite3.connect(dirs.db_path) as conn:
        conn.execute("DELETE FROM delivery_quarters WHERE bron = 'vrouwenopvang' AND periode = ?", (PERIODE,))
        conn.execute("UPDATE deliveries SET bestandsnaam = '=HYPERLINK(\"http://example.org\",\"x\")' "
                     "WHERE bron = 'wij' AND periodes LIKE ?", (f'%{PERIODE}%',))
    return dirs


def test_missing_partner_is_said_plainly_and_shown_as_missing(damaged_dirs):
    p = build_workbook(PERIODE, damaged_dirs, made_at=MADE_AT)
    wb = openpyxl.load_workbook(p)
    voorblad = [c.value for row in wb["Voorblad"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(s.startswith("Vrouwenopvang: ontbreekt — geen 0") for s in voorblad)
    t = table_with(wb["Vrouwenopvang"], "Gemeente van herkomst", "Aanmeldingen")
    assert set(column(t, "Aanmeldingen").values()) == {"ontbreekt"}
    summary = table_with(wb["Samenvatting"], "Kernindicator", "Oordeel")
    row = next(r for r in summary["rows"] if r[0] == "Wachtlijst opvang (einde kwartaal)")
    assert row[3] == "ontbreekt" and row[10] == "onvoldoende gegevens"


def test_text_that_looks_like_a_formula_stays_text(damaged_dirs):
    p = build_workbook(PERIODE, damaged_dirs, made_at=MADE_AT)
    assert formula_cells(p) == []
    wb = openpyxl.load_workbook(p)
    names = [c.value for row in wb["Voorblad"].iter_rows() for c in row if isinstance(c.value, str)]
    assert '=HYPERLINK("http://example.org","x")' in names


def test_an_early_quarter_builds_with_little_history(dirs):
    p = build_workbook("2023Q2", dirs, made_at=MADE_AT)
    wb = openpyxl.load_workbook(p)
    summary = table_with(wb["Samenvatting"], "Kernindicator", "Oordeel")
    assert {r[10] for r in summary["rows"] if r[1]} <= {"onvoldoende gegevens", "geen significante verandering",
                                                 "verbetering", "aandachtspunt", "signaal"}
    row = next(r for r in summary["rows"] if r[0] == "Adviezen")
    assert row[7] == "ontbreekt"  # 2022Q2 was never delivered: missing, not 0


# --------------------------------------------------------------------------- reproducibility and rendering


def test_byte_for_byte_reproducible(dirs, path, tmp_path):
    first = path.read_bytes()
    again = build_workbook(PERIODE, dirs, made_at=MADE_AT).read_bytes()
    assert first == again
    later = build_workbook(PERIODE, dirs, made_at=MADE_AT + dt.timedelta(days=3)).read_bytes()
    assert later != first
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    a.write_bytes(first)
    b.write_bytes(later)
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.namelist() == zb.namelist()
        assert za.namelist()[0] == "[Content_Types].xml"
        differ = [n for n in za.namelist() if za.read(n) != zb.read(n)]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in za.infolist())
        # Only the creation timestamp differs: the document properties and the Voorblad's "Gemaakt op".
        assert set(differ) <= {"docProps/core.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"}
        for n in differ:
            if n != "docProps/core.xml":
                assert za.read(n).replace(b"05-01-2025", b"08-01-2025") == zb.read(n), n
    build_workbook(PERIODE, dirs, made_at=MADE_AT)  # leave the module's file as it was


def test_opens_cleanly_in_libreoffice(path, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc (see README)")
    profile = tmp_path / "lo-profile"
    out = tmp_path / "pdf"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "pdf",
         "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=240)
    pdf = out / (path.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stderr
    assert pdf.stat().st_size > 50_000
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        assert pages >= len(SHEET_ORDER)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        for title in ("Samenvatting per actielijn", "Veilig Thuis per gemeente", "Funnelplots", "Definities en methoden"):
            assert title in text
        assert "#REF" not in text and "Err:" not in text


def test_xmr_rounding_is_stable():
    """Guard for the comparison above: XmR of a constant series has no limits width, no signal."""
    res = stats.xmr([5, 5, 5, 5])
    assert res.mean == 5 and not res.signals and math.isclose(res.upper_process_limit, 5)
    assert np.isfinite(res.mean)


def test_every_delivered_column_has_a_definition():
    """A new column in include/sources.yaml needs a label, kind and suppression rule first."""
    from etl.core.sources import load_sources

    cat = load_catalogue()
    for src in load_sources().values():
        for sheet in src.sheets:
            if sheet.tidy not in ("gemeente", "regio"):
                continue  # WIJ case rows become derived indicators (etl.intake.tidy), checked via the Data sheet
            for col in sheet.value_columns:
                assert cat.get(src.key, col.name).definitie, (src.key, col.name)
            for share in sheet.shares:
                assert cat.get(src.key, share.indicator).soort == "aandeel"


# --------------------------------------------------------------------------- issue 13: readers' findings


def _chart_parts(path: Path, sheet_index: int) -> list:
    """Chart XML roots of one sheet, in anchor order (sheet_index: position in the workbook)."""
    with zipfile.ZipFile(path) as zf:
        rel = ET.fromstring(zf.read(f"xl/worksheets/_rels/sheet{sheet_index}.xml.rels"))
        drawing = next(r.get("Target") for r in rel if "drawing" in r.get("Type"))
        name = drawing.rsplit("/", 1)[1]
        drel = ET.fromstring(zf.read(f"xl/drawings/_rels/{name}.rels"))
        charts = [r.get("Target").rsplit("/", 1)[1] for r in drel]
        return [ET.fromstring(zf.read(f"xl/charts/{c}")) for c in charts]


def test_trend_charts_mark_only_the_points_of_the_signal_in_plain_words(path, wb):
    ws = wb["Trends"]
    blocks = _trend_blocks(ws)
    roots = _chart_parts(path, SHEET_ORDER.index("Trends") + 1)
    marked_any = False
    for root, (key, block) in zip(roots, blocks.items(), strict=True):
        values = [r[1] if isinstance(r[1], (int, float)) else None for r in block["rows"]]
        res = stats.xmr(values)
        latest = res.latest_index
        relevant = res.signals_involving(latest) if latest is not None and res.has_limits else ()
        expected = sorted({i for s in relevant for i in s.indices})
        first = root.find(".//c:lineChart/c:ser", NS)
        marked = sorted(int(p.find("c:idx", NS).get("val")) for p in first.findall("c:dPt", NS))
        assert marked == expected, key
        notes = [i for i, r in enumerate(block["rows"]) if r[2] and str(r[2]).startswith("signaal")]
        assert notes == expected, key
        marked_any |= bool(marked)
    assert marked_any
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    text += " ".join(str(c.value) for row in wb["Samenvatting"].iter_rows() for c in row if isinstance(c.value, str))
    for jargon in ("sigma", "procesgrens", "XmR", "Centrale lijn"):
        assert jargon not in text, jargon
    assert re.search(r"\d kwartalen op rij duidelijk (hoger|lager) dan gewoonlijk", text)


def test_percentage_axes_whole_percent_never_above_100(path):
    for sheet in ("Trends", "Funnelplots"):
        for root in _chart_parts(path, SHEET_ORDER.index(sheet) + 1):
            for ax in root.findall(".//c:valAx", NS):
                fmt = ax.find("c:numFmt", NS)
                if fmt is None or "%" not in fmt.get("formatCode"):
                    continue
                assert fmt.get("formatCode") == "0%", sheet
                top = ax.find("c:scaling/c:max", NS)
                low = ax.find("c:scaling/c:min", NS)
                assert top is not None and float(top.get("val")) <= 1.0, sheet
                assert low is not None and float(low.get("val")) >= 0.0, sheet


def test_data_sheet_explains_the_afscherming_codes(wb):
    ws = wb["Data"]
    legend = " ".join(str(ws.cell(r, 1).value) for r in range(1, 6) if ws.cell(r, 1).value)
    for code in ("primair", "partner", "secundair", "afgeleid"):
        assert f"{code} = " in legend, code
    t = table_with(ws, "Kwartaal", "Gebied", "Waarde")
    assert not [h for h in t["headers"] if "_" in h]
    used = {r[8] for r in t["rows"] if r[8]}
    assert used and used <= {"primair", "partner", "secundair", "afgeleid"}


def test_four_quarter_funnel_says_why_a_wijk_is_still_hidden(wb):
    ws = wb["Funnelplots"]
    units = [t for t in tables(ws) if t["headers"][0] == "Wijk"][-1]  # 2024Q1–2024Q4
    hidden = [r for r in units["rows"][:-1] if r[3] == "afgeschermd"]
    shown = [r for r in units["rows"][:-1] if isinstance(r[2], float)]
    assert len(shown) >= 9
    for r in hidden:
        assert r[4] and "terug te rekenen" in r[4] or "zelf 1 tot en met 4" in r[4], r
