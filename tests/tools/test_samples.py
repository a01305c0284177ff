"""Tests for the synthetic partner workbook generator (etl.tools.samples).

The workbooks are read back with openpyxl and checked against the data contract
and against the generator's own ``truth``; the expected layout and reference
values are spelled out here on purpose, so a change in the generator shows up.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.tools import samples
from etl.tools.samples import (
    QUARTERS_DEFAULT,
    VO_ABSENT_GEMEENTEN,
    VO_ABSENT_QUARTERS,
    SampleSet,
    generate_samples,
)
from tests.conftest import folder

GEMEENTE_CODES = {
    "Groningen": "GM0014",
    "Het Hogeland": "GM1966",
    "Westerkwartier": "GM1969",
    "Eemsdelta": "GM1979",
    "Midden-Groningen": "GM1952",
    "Oldambt": "GM1895",
    "Pekela": "GM0765",
    "Stadskanaal": "GM0037",
    "Veendam": "GM0047",
    "Westerwolde": "GM1950",
}
WIJKEN = {
    "Beijum", "Centrum", "Corpus den Hoorn", "Haren", "Helpman/De Wijert", "Hoogkerk",
    "Korrewegwijk", "Lewenborg", "Oosterparkwijk", "Paddepoel", "Rivierenbuurt", "Selwerd",
    "Ten Boer", "Vinkhuizen",
}  # fmt: skip
NORTHERN = {
    "Beijum",
    "Korrewegwijk",
    "Lewenborg",
    "Oosterparkwijk",
    "Paddepoel",
    "Selwerd",
    "Vinkhuizen",
}
VORMEN = {
    "partnergeweld", "ex-partnergeweld", "kindermishandeling", "ouderenmishandeling",
    "eergerelateerd", "overig",
}  # fmt: skip

COLUMNS = {
    "veilig_thuis/Meldingen": [
        "periode", "gemeente", "adviezen", "meldingen_totaal", "meldingen_kindermishandeling",
        "meldingen_partnergeweld", "meldingen_ouderenmishandeling", "meldingen_overig",
        "melder_politie", "melder_professional", "melder_burger", "unieke_casussen",
        "hermeldingen", "tijdelijke_huisverboden", "icm_trajecten_gestart",
    ],
    "veilig_thuis/Doorlooptijden": [
        "periode", "veiligheidsbeoordelingen", "binnen_5_werkdagen", "wachtlijst_einde_kwartaal",
    ],
    "wij/Casussen": [
        "periode", "casus_id", "wijk", "startdatum", "einddatum", "vorm_geweld",
        "doorverwezen_veilig_thuis", "nazorg", "aantal_kinderen",
    ],
    "wij/Groepsaanbod": ["periode", "wijk", "aanbod", "groepen", "deelnemers"],
    "vrouwenopvang/Opvang": [
        "periode", "gemeente", "aanmeldingen", "opnames_volwassenen", "opnames_kinderen",
        "ambulante_trajecten", "uitstroom_zelfstandig", "uitstroom_terug_naar_huis",
        "uitstroom_andere_opvang", "uitstroom_onbekend",
    ],
    "vrouwenopvang/Capaciteit": [
        "periode", "plaatsen_crisisopvang", "bezette_plaatsdagen", "wachtlijst_einde_kwartaal",
        "gemiddelde_verblijfsduur_dagen",
    ],
    "vrouwenopvang/Steunpunt": [
        "periode", "inloopcontacten", "telefonische_contacten", "chatcontacten",
    ],
}  # fmt: skip
AGGREGATE_SHEETS = {"veilig_thuis/Meldingen", "wij/Groepsaanbod", "vrouwenopvang/Opvang"}
VT_KINDS = [
    "meldingen_kindermishandeling", "meldingen_partnergeweld",
    "meldingen_ouderenmishandeling", "meldingen_overig",
]  # fmt: skip
VT_MELDERS = ["melder_politie", "melder_professional", "melder_burger"]


def file_name(source: str, quarter: str) -> str:
    year, q = quarter[:4], quarter[5]
    return {
        "veilig_thuis": f"VeiligThuis_Groningen_{year}-Q{q}.xlsx",
        "wij": f"WIJ_casussen_{year}Q{q}.xlsx",
        "vrouwenopvang": f"Vrouwenopvang_{year}_Q{q}.xlsx",
    }[source]


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    year, q = int(quarter[:4]), int(quarter[5])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + 1, 1, 1) if q == 4 else dt.date(year, 3 * q + 1, 1)
    return start, end - dt.timedelta(days=1)


def norm_periode(value: str) -> str:
    m = re.fullmatch(r"(\d{4})-?Q([1-4])|Q([1-4]) (\d{4})", value)
    assert m, f"unexpected periode {value!r}"
    return f"{m[1]}Q{m[2]}" if m[1] else f"{m[4]}Q{m[3]}"


def norm_cell(column: str, value):
    if column == "periode":
        return norm_periode(value)
    if column == "gemeente":
        return GEMEENTE_CODES[value]
    if value in ("<5", "n.v.t."):
        return None
    if value in ("ja", "nee"):
        return value == "ja"
    if isinstance(value, dt.datetime):
        return value.date()
    return value


# ------------------------------------------------------------------ reading back


class SheetRead:
    """A partner-style sheet read back: title, header, data rows, totals, notes."""

    def __init__(self, ws):
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        self.ws = ws
        self.title = rows[0][0]
        self.row2 = rows[1]
        self.header = [c for c in rows[2] if c is not None]
        width = len(self.header)
        self.data: list[list] = []
        self.total: list | None = None
        i = 3
        while i < len(rows) and any(c is not None for c in rows[i]):
            cells = rows[i][:width]
            if cells[0] == "Totaal":
                self.total = cells
            else:
                assert self.total is None, "data row below the Totaal row"
                self.data.append(cells)
            i += 1
        self.last_table_row = i  # 1-based Excel row number of the last table row
        self.rest = rows[i:]

    def records(self) -> list[dict]:
        return [dict(zip(self.header, r, strict=True)) for r in self.data]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, SampleSet, float]:
    out = tmp_path_factory.mktemp("inbox")
    t0 = time.perf_counter()
    result = generate_samples(out)
    return out, result, time.perf_counter() - t0


@pytest.fixture(scope="module")
def out_dir(generated) -> Path:
    return generated[0]


@pytest.fixture(scope="module")
def sample(generated) -> SampleSet:
    return generated[1]


@pytest.fixture(scope="module")
def sheets(out_dir) -> dict[tuple[str, str], dict[str, SheetRead]]:
    """(source, quarter) -> sheet name -> SheetRead."""
    read = {}
    for source in ("veilig_thuis", "wij", "vrouwenopvang"):
        for quarter in QUARTERS_DEFAULT:
            wb = openpyxl.load_workbook(out_dir / folder(source) / file_name(source, quarter))
            read[(source, quarter)] = {ws.title: SheetRead(ws) for ws in wb.worksheets}
    return read


@pytest.fixture(scope="module")
def cases(sample) -> pd.DataFrame:
    return sample.truth["wij/Casussen"]


# ------------------------------------------------------------------ files


def test_default_quarters_are_2023_and_2024():
    assert QUARTERS_DEFAULT == tuple(f"{y}Q{q}" for y in (2023, 2024) for q in (1, 2, 3, 4))


def test_writes_24_files_in_the_partner_folders(out_dir, sample):
    expected = {
        out_dir / folder(source) / file_name(source, quarter)
        for source in ("veilig_thuis", "wij", "vrouwenopvang")
        for quarter in QUARTERS_DEFAULT
    }
    assert len(sample.files) == 24
    assert set(sample.files) == expected
    on_disk = {p for p in out_dir.rglob("*") if p.is_file()}
    assert on_disk == expected


def test_no_temp_files_left_behind(out_dir):
    leftovers = [
        p for p in out_dir.rglob("*") if p.name.startswith((".", "~$")) or p.suffix == ".tmp"
    ]
    assert leftovers == []


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_truth_and_files(tmp_path, out_dir, sample):
    again = generate_samples(tmp_path)
    assert [p.relative_to(tmp_path) for p in again.files] == [
        p.relative_to(out_dir) for p in sample.files
    ]
    assert again.truth.keys() == sample.truth.keys()
    for key, frame in sample.truth.items():
        pd.testing.assert_frame_equal(again.truth[key], frame, check_exact=True)
        assert list(again.truth[key].dtypes) == list(frame.dtypes)
        assert pickle.dumps(again.truth[key]) == pickle.dumps(frame), key
    for a, b in zip(again.files, sample.files, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between runs"


def test_other_seed_gives_other_values(tmp_path, sample):
    other = generate_samples(tmp_path, quarters=("2024Q4",), seed=7)
    mine = sample.truth["veilig_thuis/Meldingen"]
    mine = mine[mine.periode == "2024Q4"].reset_index(drop=True)
    assert not other.truth["veilig_thuis/Meldingen"].equals(mine)


def test_a_quarter_does_not_depend_on_the_other_quarters(tmp_path, sample):
    single = generate_samples(tmp_path, quarters=("2024Q3",))
    assert len(single.files) == 3
    for key, frame in sample.truth.items():
        expected = frame[frame.periode == "2024Q3"].reset_index(drop=True)
        pd.testing.assert_frame_equal(single.truth[key], expected, check_exact=True)


def test_bad_quarters_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate_samples(tmp_path, quarters=("2024-Q3",))
    with pytest.raises(ValueError):
        generate_samples(tmp_path, quarters=("2024Q3", "2024Q3"))
    with pytest.raises(ValueError):
        generate_samples(tmp_path, quarters=())


# ------------------------------------------------------------------ layout


def test_truth_keys_and_columns(sample):
    assert set(sample.truth) == set(COLUMNS)
    for key, columns in COLUMNS.items():
        assert list(sample.truth[key].columns) == columns, key


def test_sheets_look_like_a_partner_made_them(sheets):
    for (source, quarter), by_name in sheets.items():
        for name, sheet in by_name.items():
            key = f"{source}/{name}"
            where = f"{source} {quarter} {name}"
            assert sheet.header == COLUMNS[key], where
            assert isinstance(sheet.title, str) and sheet.title.strip(), where
            year, q = quarter[:4], quarter[5]
            assert year in sheet.title and f"Q{q}" in sheet.title, where
            merged = [str(r) for r in sheet.ws.merged_cells.ranges]
            assert any(r.startswith("A1:") for r in merged), where
            assert all(c is None for c in sheet.row2), where
            assert sheet.data, where
            # One blank row, then the source note.
            assert all(c is None for c in sheet.rest[0]), where
            assert str(sheet.rest[1][0]).startswith("Bron: registratie"), where
            assert (sheet.total is not None) == (key in AGGREGATE_SHEETS), where


def test_sheet_sets_per_source(sheets):
    for (source, quarter), by_name in sheets.items():
        names = list(by_name)
        if source == "veilig_thuis":
            assert names == ["Meldingen", "Doorlooptijden"]
        elif source == "wij":
            assert names == ["Casussen", "Groepsaanbod"]
        elif quarter >= "2024Q4":
            assert names == ["Opvang", "Capaciteit", "Steunpunt"]
        else:
            assert names == ["Opvang", "Capaciteit"], quarter


def test_periode_and_gemeente_written_as_partners_do(sheets):
    for (source, quarter), by_name in sheets.items():
        year, q = quarter[:4], quarter[5]
        written = {
            "veilig_thuis": f"{year}-Q{q}",
            "wij": f"{year}Q{q}",
            "vrouwenopvang": f"Q{q} {year}",
        }
        for sheet in by_name.values():
            assert {r["periode"] for r in sheet.records()} == {written[source]}
        if "Meldingen" in by_name:                # Veilig Thuis: every municipality, always
            assert [r["gemeente"] for r in by_name["Meldingen"].records()] == list(GEMEENTE_CODES)
        if "Opvang" in by_name:                   # the shelter leaves out those without clients, in some quarters
            absent = set(VO_ABSENT_GEMEENTEN) if (int(year), int(q)) in VO_ABSENT_QUARTERS else set()
            assert [r["gemeente"] for r in by_name["Opvang"].records()] == [n for n in GEMEENTE_CODES if n not in absent]


def test_written_values_equal_the_truth(sheets, sample):
    for key, truth in sample.truth.items():
        source, name = key.split("/")
        read = []
        for quarter in QUARTERS_DEFAULT:
            sheet = sheets[(source, quarter)].get(name)
            if sheet is not None:
                read += [{c: norm_cell(c, v) for c, v in r.items()} for r in sheet.records()]
        if key == "vrouwenopvang/Opvang":
            # Absent rows are in the truth as zeros (absent = 0 for this source), not in the file.
            absent_codes = {GEMEENTE_CODES[n] for n in VO_ABSENT_GEMEENTEN}
            quarters = {f"{y}Q{q}" for y, q in VO_ABSENT_QUARTERS}
            absent = truth["periode"].isin(quarters) & truth["gemeente"].isin(absent_codes)
            assert absent.sum() == len(quarters) * len(absent_codes)
            assert (truth.loc[absent, truth.columns[2:]] == 0).all().all()
            truth = truth[~absent]
        expected = truth.astype(object).where(truth.notna(), None).to_dict("records")
        assert len(read) == len(expected), key
        for i, (got, want) in enumerate(zip(read, expected, strict=True)):
            assert got == want, f"{key} row {i}"


def test_totaal_rows_hold_the_column_sums(sheets):
    checked = 0
    for (source, quarter), by_name in sheets.items():
        for name, sheet in by_name.items():
            if sheet.total is None:
                continue
            for j, column in enumerate(sheet.header):
                total = sheet.total[j]
                if not isinstance(total, int) or isinstance(total, bool):
                    continue
                values = [r[j] for r in sheet.data]
                visible = sum(v for v in values if isinstance(v, int))
                suppressed = sum(1 for v in values if v == "<5")
                where = f"{source} {quarter} {name} {column}"
                if suppressed:
                    # The partner's total is complete: it includes the hidden 1..4.
                    assert suppressed <= total - visible <= 4 * suppressed, where
                else:
                    assert total == visible, where
                checked += 1
            assert sheet.total[0] == "Totaal"
            assert all(isinstance(v, (int, type(None))) for v in sheet.total[1:])
    assert checked > 100


# ------------------------------------------------------------------ Veilig Thuis


def test_vt_exactly_one_partner_suppressed_cell_per_quarter(sheets, sample):
    for quarter in QUARTERS_DEFAULT:
        sheet = sheets[("veilig_thuis", quarter)]["Meldingen"]
        hits = [(r["gemeente"], c) for r in sheet.records() for c, v in r.items() if v == "<5"]
        assert hits == [("Pekela", "meldingen_ouderenmishandeling")], quarter
    m = sample.truth["veilig_thuis/Meldingen"]
    nulls = m[m["meldingen_ouderenmishandeling"].isna()]
    assert list(nulls.gemeente) == ["GM0765"] * len(QUARTERS_DEFAULT)
    assert m.drop(columns="meldingen_ouderenmishandeling").notna().all().all()
    assert m["meldingen_ouderenmishandeling"].dtype == object
    assert all(isinstance(v, int) for v in m["meldingen_ouderenmishandeling"].dropna())


def test_vt_parts_sum_to_the_total(sample):
    m = sample.truth["veilig_thuis/Meldingen"]
    full = m[m["meldingen_ouderenmishandeling"].notna()]
    assert len(full) == len(m) - len(QUARTERS_DEFAULT)
    kinds = full[VT_KINDS].astype(int).sum(axis=1)
    assert (kinds == full["meldingen_totaal"]).all()
    assert (m[VT_MELDERS].sum(axis=1) == m["meldingen_totaal"]).all()
    # Where a kind is suppressed, the others still leave room for a 1..4.
    part = m[m["meldingen_ouderenmishandeling"].isna()]
    rest = part["meldingen_totaal"] - part[[k for k in VT_KINDS if "ouderen" not in k]].sum(axis=1)
    assert rest.between(1, 4).all()


def test_vt_value_rules(sample):
    m = sample.truth["veilig_thuis/Meldingen"]
    assert (m["hermeldingen"] <= m["meldingen_totaal"]).all()
    assert (m["unieke_casussen"] <= m["meldingen_totaal"]).all()
    assert m["tijdelijke_huisverboden"].between(0, 10).all()
    counts = m.drop(columns=["periode", "gemeente", "meldingen_ouderenmishandeling"])
    assert (counts >= 0).all().all()
    # Small municipalities have genuine 1..4 cells, written as exact numbers.
    assert ((counts >= 1) & (counts <= 4)).sum().sum() > 20
    d = sample.truth["veilig_thuis/Doorlooptijden"]
    assert list(d.periode) == list(QUARTERS_DEFAULT)
    share = d["binnen_5_werkdagen"] / d["veiligheidsbeoordelingen"]
    assert share.between(0.85, 0.92).all()
    region = m.groupby("periode")["meldingen_totaal"].sum()
    assert (d.set_index("periode")["veiligheidsbeoordelingen"] / region).between(0.85, 1.05).all()


def test_vt_magnitudes(sample):
    m = sample.truth["veilig_thuis/Meldingen"]
    region = m.groupby("periode")["meldingen_totaal"].sum()
    assert region.between(1000 * 0.85, 1050 * 1.15).all(), region.to_dict()
    per_year = region.groupby(region.index.str[:4]).sum()
    assert per_year.between(3800, 4400).all(), per_year.to_dict()
    city = m[m.gemeente == "GM0014"].set_index("periode")
    assert city["meldingen_totaal"].between(440 * 0.85, 440 * 1.15).all()
    assert city["adviezen"].between(435 * 0.85, 435 * 1.15).all()
    police = m["melder_politie"].sum() / m["meldingen_totaal"].sum()
    assert 0.6 < police < 0.72
    kinds = m[VT_KINDS[:2]].sum() / m["meldingen_totaal"].sum()
    assert 0.36 < kinds.iloc[0] < 0.44 and 0.31 < kinds.iloc[1] < 0.39
    huisverboden = m.groupby(m.periode.str[:4])["tijdelijke_huisverboden"].sum()
    assert huisverboden.between(24, 120).all()


def test_vt_trends_are_visible(sample):
    m = sample.truth["veilig_thuis/Meldingen"]
    by_year = m.groupby(m.periode.str[:4])[["meldingen_totaal", "hermeldingen"]].sum()
    assert by_year.loc["2024", "meldingen_totaal"] > by_year.loc["2023", "meldingen_totaal"]
    share = m.groupby("periode")[["hermeldingen", "meldingen_totaal"]].sum()
    share = share["hermeldingen"] / share["meldingen_totaal"]
    assert 0.20 <= share.iloc[0] <= 0.27 and share.iloc[-1] < share.iloc[0] - 0.02
    assert share.iloc[4:].mean() < share.iloc[:4].mean()


# ------------------------------------------------------------------ WIJ


def test_wij_one_row_per_case_per_quarter(cases):
    assert not cases.duplicated(["casus_id", "periode"]).any()
    assert cases["casus_id"].str.fullmatch(r"C-[0-9A-F]{8}").all()
    assert set(cases["wijk"]) <= WIJKEN and set(cases["vorm_geweld"]) <= VORMEN
    assert cases["aantal_kinderen"].between(0, 4).all()
    assert cases["doorverwezen_veilig_thuis"].dtype == bool
    assert set(cases["nazorg"].map(repr)) == {"True", "False", "None"}      # nazorg may be blank


def test_wij_dates_are_consistent_and_active(cases):
    for row in cases.itertuples():
        start, end = quarter_bounds(row.periode)
        assert isinstance(row.startdatum, dt.date) and not isinstance(row.startdatum, dt.datetime)
        assert row.startdatum <= end, row
        if row.einddatum is None:
            assert row.nazorg is None, row           # an open case has no nazorg yet: a blank cell
        else:
            assert isinstance(row.einddatum, dt.date)
            assert row.einddatum >= row.startdatum, row
            assert start <= row.einddatum <= end, row


def test_wij_ids_persist_while_open(cases):
    quarters = list(QUARTERS_DEFAULT)
    by_quarter = {q: cases[cases.periode == q].set_index("casus_id") for q in quarters}
    followed = 0
    for this, nxt in zip(quarters, quarters[1:], strict=False):
        now, later = by_quarter[this], by_quarter[nxt]
        open_now = now[now["einddatum"].isna()]
        missing = set(open_now.index) - set(later.index)
        assert not missing, f"open in {this} but gone in {nxt}: {sorted(missing)[:3]}"
        same = later.loc[open_now.index]
        for col in ("wijk", "startdatum", "vorm_geweld", "aantal_kinderen"):
            assert (same[col] == open_now[col]).all(), (this, col)
        closed_now = now[now["einddatum"].notna()]
        assert not set(closed_now.index) & set(later.index), this
        # Cases in the next quarter that were not open now must be new there.
        fresh = later.drop(index=open_now.index)
        assert (fresh["startdatum"] >= quarter_bounds(nxt)[0]).all()
        followed += len(open_now)
    assert followed > 1000


def test_wij_magnitudes_and_durations(cases):
    starts = cases.drop_duplicates("casus_id")
    for quarter in QUARTERS_DEFAULT:
        q_start, q_end = quarter_bounds(quarter)
        rows = cases[cases.periode == quarter]
        new = rows[rows["startdatum"] >= q_start]
        assert 250 <= len(new) <= 400, (quarter, len(new))
    per_year = cases.groupby(cases.periode.str[:4])["casus_id"].nunique()
    assert per_year.between(1366 * 0.75, 1366 * 1.25).all(), per_year.to_dict()
    closed = cases[cases["einddatum"].notna()]
    days = pd.Series(
        [(e - s).days for s, e in zip(closed.startdatum, closed.einddatum, strict=True)]
    )
    assert 95 <= days.median() <= 145
    assert days.quantile(0.9) > 1.8 * days.median()  # a long tail
    wijk_counts = starts["wijk"].value_counts()
    northern = wijk_counts[wijk_counts.index.isin(NORTHERN)].mean()
    other = wijk_counts[~wijk_counts.index.isin(NORTHERN)].mean()
    assert northern > 1.2 * other


def test_wij_nazorg_share_rises(cases):
    closed = cases[cases["einddatum"].notna()]
    known = closed[closed["nazorg"].notna()]
    share = known.groupby(known.periode.str[:4])["nazorg"].apply(lambda s: s.astype(bool).mean())
    assert 0.3 < share["2023"] < share["2024"] < 0.9
    blank = closed["nazorg"].isna().groupby(closed.periode).mean()
    assert (blank > 0.05).all() and (blank < 0.35).all()    # some blank nazorg cells every quarter, as real files have


def test_wij_groepsaanbod(sample):
    g = sample.truth["wij/Groepsaanbod"]
    assert not g.duplicated(["periode", "wijk", "aanbod"]).any()
    assert set(g["aanbod"]) == {"Kikkergroep", "Vingers in je oren"}
    assert set(g["wijk"]) <= WIJKEN and 3 <= g["wijk"].nunique() <= 8
    nvt = g[g["deelnemers"].isna()]                   # "n.v.t." in one cell, for a programme that did not run
    assert len(nvt) == 1 and nvt.iloc[0]["groepen"] == 0 and nvt.iloc[0]["periode"] == "2024Q2"
    g = g[g["deelnemers"].notna()]
    assert g["groepen"].between(0, 3).all() and g["deelnemers"].astype(int).between(0, 25).all()
    assert ((g["groepen"] == 0) == (g["deelnemers"] == 0)).all()


# ------------------------------------------------------------------ Vrouwenopvang


def test_vo_occupancy_and_wait_list(sample):
    c = sample.truth["vrouwenopvang/Capaciteit"]
    days = pd.Series([(quarter_bounds(p)[1] - quarter_bounds(p)[0]).days + 1 for p in c.periode])
    occupancy = c["bezette_plaatsdagen"] / (c["plaatsen_crisisopvang"] * days)
    assert occupancy.between(0.80, 0.97).all() and (occupancy <= 1).all()
    wait = c["wachtlijst_einde_kwartaal"]
    assert wait.iloc[4:].mean() < wait.iloc[:4].mean()
    stay = c["gemiddelde_verblijfsduur_dagen"]
    assert (stay == stay.round(1)).all() and stay.between(10, 150).all()


def test_vo_magnitudes(sample):
    o = sample.truth["vrouwenopvang/Opvang"]
    region = o.groupby("periode")["aanmeldingen"].sum()
    assert region.between(50, 110).all(), region.to_dict()
    city_share = o[o.gemeente == "GM0014"]["aanmeldingen"].sum() / region.sum()
    assert 0.35 < city_share < 0.65
    small = o.drop(columns=["periode", "gemeente"])
    assert (small >= 0).all().all() and ((small >= 1) & (small <= 4)).sum().sum() > 50


def test_vo_steunpunt_only_from_2024q4(sample):
    s = sample.truth["vrouwenopvang/Steunpunt"]
    assert list(s.periode) == ["2024Q4"]
    assert (s[["inloopcontacten", "telefonische_contacten", "chatcontacten"]] > 0).all().all()


# ------------------------------------------------------------------ scale and CLI


def test_population_scale_multiplies_counts(tmp_path, sample):
    big = generate_samples(tmp_path, quarters=("2024Q4",), population_scale=3.0)
    base = sample.truth["veilig_thuis/Meldingen"]
    base_total = base[base.periode == "2024Q4"]["meldingen_totaal"].sum()
    ratio = big.truth["veilig_thuis/Meldingen"]["meldingen_totaal"].sum() / base_total
    assert 2.7 < ratio < 3.3
    base_cases = (sample.truth["wij/Casussen"].periode == "2024Q4").sum()
    assert 2.6 < len(big.truth["wij/Casussen"]) / base_cases < 3.4


def test_cli_prints_the_files_written(tmp_path, capsys):
    assert samples.main(["--out", str(tmp_path), "--seed", "7", "--quarters", "2024Q3,2024Q4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    # Three partners and, by default, the demo's two local teams (in their own folders).
    assert len(printed) == 10
    assert all(Path(p).is_file() and Path(p).is_relative_to(tmp_path) for p in printed)
    assert {Path(p).parent.relative_to(tmp_path).as_posix() for p in printed} == {
        *(folder(s) for s in ("veilig_thuis", "wij", "vrouwenopvang")), "wij/het-hogeland", "wij/westerkwartier"}
    capsys.readouterr()
    assert samples.main(["--out", str(tmp_path / "zonder"), "--quarters", "2024Q4", "--lokale-teams", ""]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
