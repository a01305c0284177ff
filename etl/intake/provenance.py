"""Where each dataset value of a delivery came from (issue 17: every number can say where).

``etl.intake.tidy`` builds the dataset rows of a delivery; :func:`attach` gives each of
those rows one provenance record, computed from the same parsed sheet (its frame is
indexed by Excel row number, ``SheetData.letters`` knows each column's letter):

* ``cel``        a delivered count or number: sheet and Excel cell (``Meldingen!D7``);
* ``regels``     a value derived from case rows: sheet, the Excel rows used, the rule in
                 Dutch (``periode = 2024Q4, wijk = Vinkhuizen, startdatum in 2024Q4``)
                 and a machine-readable ``bewerking`` (count, sum, median ...) so that a
                 test can recompute the value from the recorded rows;
* ``som``        a region total: the dataset keys of the values it adds up, and the
                 municipalities that were absent;
* ``verhouding`` a share or rate: numerator and denominator keys (and a factor for the
                 denominator, e.g. the days of the quarter for occupancy).

Why a post-pass here instead of inside tidy's functions: the records only *describe*
how tidy's values are formed, and keeping them apart leaves tidy's arithmetic untouched
(region totals and shares are being reworked in parallel). The describing and the
computing can drift apart; ``tests/store/test_provenance.py`` recomputes every value from
its record on the sample deliveries and on messy files, so drift fails a test.

A record never holds a cell's content: only sheet names, cell addresses, Excel row
numbers, column names and the group values of the rule (quarter, wijk: reference data).
No case id, no free text, no date, so no personal data can enter a record, and no value
that disclosure control hides in the report is written into one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from etl.core.quarters import days_in_quarter, quarter_end, quarter_start
from etl.core.reference import gemeenten
from etl.intake.read import SheetData

Record = dict[str, Any]
CEL, REGELS, SOM, VERHOUDING, ONBEKEND = "cel", "regels", "som", "verhouding", "onbekend"
#: A municipality the file has no row for, counted as 0 (``absent_gemeente: zero``).
GEEN_REGEL = "geen_regel"
KINDS = (CEL, REGELS, SOM, VERHOUDING, ONBEKEND, GEEN_REGEL)
GEEN_REGEL_TEXT = "geen regel voor deze gemeente in het bestand: geteld als 0"

# WIJ case figures: indicator -> (row filter in Dutch, operation, column).
# The filter names are resolved by _case_rows below; keep both in step.
_CASE_RULES: dict[str, tuple[str, str, str | None]] = {
    "casussen_actief": ("", "aantal", None),
    "casussen_nieuw": ("startdatum in {q}", "aantal", None),
    "casussen_afgesloten": ("einddatum in {q}", "aantal", None),
    "duur_mediaan_dagen": ("einddatum in {q}", "mediaan_duur", None),
    "duur_p90_dagen": ("einddatum in {q}", "p90_duur", None),
    "nazorg_aandeel": ("einddatum in {q}, nazorg ingevuld", "aandeel_ja", "nazorg"),
    "nazorg_aantal": ("einddatum in {q}, nazorg ingevuld", "aantal_ja", "nazorg"),
    "nazorg_bekend": ("einddatum in {q}, nazorg ingevuld", "aantal", "nazorg"),
    "nazorg_onbekend": ("einddatum in {q}, nazorg leeg", "aantal", "nazorg"),
    "doorverwezen_veilig_thuis": ("doorverwezen_veilig_thuis = ja", "aantal", None),
    "kinderen_betrokken": ("", "som", "aantal_kinderen"),
}
_OPERATION_NL = {
    "aantal": "aantal regels",
    "som": "som van kolom '{kolom}'",
    "mediaan_duur": "mediaan van einddatum − startdatum (dagen)",
    "p90_duur": "90e percentiel van einddatum − startdatum (dagen)",
    "aandeel_ja": "aandeel met '{kolom}' = ja",
    "aantal_ja": "aantal met '{kolom}' = ja",
}
_GROUP_COLUMNS = {"groepsaanbod_groepen": "groepen", "groepsaanbod_deelnemers": "deelnemers"}


def key_of(v: Any) -> list[str]:
    """The dataset key of a value within its delivery and quarter (what a ``som`` lists)."""
    return [v.gebied_type, v.gebied_code, v.indicator]


def format_rows(rows: Iterable[int]) -> str:
    """Excel rows as ranges (``5-9,12,14-20``): compact for the store, exact for a reader.

    Vectorised: a city-wide WIJ figure lists every case row of the quarter (200,000 in
    the benchmark workbook), eight times.
    """
    arr = np.sort(np.asarray(rows if isinstance(rows, np.ndarray | pd.Index) else list(rows), dtype=np.int64))
    if not len(arr):
        return ""
    arr = arr[np.concatenate(([True], np.diff(arr) != 0))]          # the frame's rows are unique already
    breaks = np.flatnonzero(np.diff(arr) != 1)
    starts = np.concatenate((arr[:1], arr[breaks + 1]))
    ends = np.concatenate((arr[breaks], arr[-1:]))
    # The numbers by C-level ``map(str)``; the ranges joined as object arrays (one C loop),
    # not an f-string per range: 100k scattered rows are 100k ranges.
    text = np.array(list(map(str, starts.tolist())), dtype=object)
    multi = starts != ends
    if multi.any():
        text[multi] = text[multi] + "-" + np.array(list(map(str, ends[multi].tolist())), dtype=object)
    return ",".join(text.tolist())


def parse_rows(text: str | None) -> list[int]:
    """The inverse of :func:`format_rows`."""
    out: list[int] = []
    for part in filter(None, (text or "").split(",")):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _cell(sd: SheetData, row: int | None, column: str) -> Record:
    letter = sd.letters.get(column)
    return {"soort": CEL, "tabblad": sd.found_name, "cel": f"{letter}{row}" if letter and row is not None else None,
            "kolom": column}


def _row_lookup(sd: SheetData, key: Callable[[dict], tuple]) -> dict[tuple, int]:
    f = sd.frame
    return {key(rec): int(r) for r, rec in zip(f.index, f.to_dict("records"), strict=True)}


def _ratio_record(v: Any, sd: SheetData) -> Record | None:
    for share in sd.spec.shares:
        if v.indicator == share.indicator:
            return {"soort": VERHOUDING, "teller": [v.gebied_type, v.gebied_code, share.numerator],
                    "noemer": [v.gebied_type, v.gebied_code, share.denominator]}
    if v.indicator == "bezettingsgraad":
        return {"soort": VERHOUDING, "teller": [v.gebied_type, v.gebied_code, "bezette_plaatsdagen"],
                "noemer": [v.gebied_type, v.gebied_code, "plaatsen_crisisopvang"],
                "factor_noemer": days_in_quarter(v.periode),
                "regel": f"bezette_plaatsdagen / (plaatsen_crisisopvang × {days_in_quarter(v.periode)} dagen)"}
    return None


def _gemeente_kind(sd: SheetData, values: Sequence[Any]) -> list[Record]:
    rows = _row_lookup(sd, lambda rec: (rec["periode"], rec["gemeente"]))
    columns = {c.name for c in sd.spec.value_columns}
    region = [g.code for g in gemeenten()]
    present = {(v.periode, v.gebied_code, v.indicator) for v in values if v.gebied_type == "gemeente"}
    out: list[Record] = []
    for v in values:
        if v.gebied_type == "gemeente" and v.indicator in columns:
            row = rows.get((v.periode, v.gebied_code))
            if row is None and sd.spec.absent_gemeente == "zero":
                out.append({"soort": GEEN_REGEL, "tabblad": sd.found_name, "regel": GEEN_REGEL_TEXT})
            else:
                out.append(_cell(sd, row, v.indicator))
        elif v.gebied_type == "regio" and v.indicator in columns:
            delen = [["gemeente", code, v.indicator] for code in region if (v.periode, code, v.indicator) in present]
            absent = [code for code in region if (v.periode, code, v.indicator) not in present]
            out.append({"soort": SOM, "tabblad": sd.found_name, "delen": delen, "ontbrekend": absent})
        else:
            out.append(_ratio_record(v, sd) or {"soort": ONBEKEND})
    return out


def _regio_kind(sd: SheetData, values: Sequence[Any]) -> list[Record]:
    rows = _row_lookup(sd, lambda rec: (rec["periode"],))
    columns = {c.name for c in sd.spec.value_columns}
    return [_cell(sd, rows.get((v.periode,)), v.indicator) if v.indicator in columns
            else (_ratio_record(v, sd) or {"soort": ONBEKEND}) for v in values]


def _groups(frame: pd.DataFrame) -> dict[tuple[str, str, str], tuple[pd.DataFrame, str]]:
    """(periode, gebied_type, code) -> (its case rows, the rule's group part), grouped once.

    Filtering the whole frame per value cost seconds on a 200,000-row sheet."""
    out: dict[tuple[str, str, str], tuple[pd.DataFrame, str]] = {}
    for periode, q in frame.groupby("periode", sort=True):
        out[(periode, "gemeente", "")] = (q, f"periode = {periode}, alle wijken")
        for wijk, g in q.groupby("wijk", sort=True):
            out[(periode, "wijk", wijk)] = (g, f"periode = {periode}, wijk = {wijk}")
    return out


def _group(groups: dict, frame: pd.DataFrame, v: Any) -> tuple[pd.DataFrame, str]:
    key = (v.periode, "wijk", v.gebied_code) if v.gebied_type == "wijk" else (v.periode, "gemeente", "")
    return groups.get(key) or (frame.iloc[0:0], f"periode = {v.periode}")


def _case_rows(g: pd.DataFrame, filt: str, periode: str, kolom: str | None) -> pd.DataFrame:
    qs, qe = pd.Timestamp(quarter_start(periode)), pd.Timestamp(quarter_end(periode))
    if filt.startswith("startdatum in"):
        g = g[g["startdatum"].between(qs, qe)]
    elif filt.startswith("einddatum in"):
        g = g[g["einddatum"].notna() & g["einddatum"].between(qs, qe)]
    elif filt == "doorverwezen_veilig_thuis = ja":
        g = g[g["doorverwezen_veilig_thuis"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    if "nazorg ingevuld" in filt and kolom:
        g = g[g[kolom].notna()]
    elif "nazorg leeg" in filt and kolom:
        g = g[g[kolom].isna()]
    return g


def _operation_nl(sd: SheetData, bewerking: str, kolom: str | None) -> str:
    """The operation in words, naming the column by the header the partner wrote."""
    return _OPERATION_NL[bewerking].format(kolom=sd.headers.get(kolom, kolom) if kolom else kolom)


def _rule_record(sd: SheetData, rows: pd.Index, rule: str, bewerking: str, kolom: str | None,
                 rows_text: str | None = None) -> Record:
    return {"soort": REGELS, "tabblad": sd.found_name, "regel": rule, "bewerking": bewerking, "kolom": kolom,
            "letter": sd.letters.get(kolom) if kolom else None,
            "rijen": format_rows(rows) if rows_text is None else rows_text, "aantal_rijen": len(rows)}


def _wij_cases_kind(sd: SheetData, values: Sequence[Any]) -> list[Record]:
    out: list[Record] = []
    groups = _groups(sd.frame)
    # Several figures of one group select the same rows (closed cases: count, median, p90):
    # the row list of a 200k-row quarter is written once per distinct selection.
    rows_text: dict[tuple, str] = {}
    for v in values:
        spec = _CASE_RULES.get(v.indicator)
        if spec is None:
            out.append({"soort": ONBEKEND})
            continue
        filt, bewerking, kolom = spec
        g, rule = _group(groups, sd.frame, v)
        g = _case_rows(g, filt.format(q=v.periode), v.periode, kolom)
        text = ", ".join(filter(None, [rule, filt.format(q=v.periode),
                                       _operation_nl(sd, bewerking, kolom)]))
        selection = (v.periode, v.gebied_type, v.gebied_code, filt, kolom if "nazorg" in filt else None)
        if selection not in rows_text:
            rows_text[selection] = format_rows(g.index)
        out.append(_rule_record(sd, g.index, text, bewerking, kolom, rows_text[selection]))
    return out


def _wij_groups_kind(sd: SheetData, values: Sequence[Any]) -> list[Record]:
    out: list[Record] = []
    groups = _groups(sd.frame)
    for v in values:
        kolom = _GROUP_COLUMNS.get(v.indicator)
        if kolom is None:
            out.append({"soort": ONBEKEND})
            continue
        g, rule = _group(groups, sd.frame, v)
        out.append(_rule_record(sd, g.index, f"{rule}, {_operation_nl(sd, 'som', kolom)}", "som", kolom))
    return out


_KINDS: dict[str, Callable[[SheetData, Sequence[Any]], list[Record]]] = {
    "gemeente": _gemeente_kind,
    "regio": _regio_kind,
    "wij_casussen": _wij_cases_kind,
    "wij_groepsaanbod": _wij_groups_kind,
}


def attach(sd: SheetData, values: Sequence[Any]) -> list[Record]:
    """One provenance record per value that tidy built from this sheet, in the same order."""
    make = _KINDS.get(sd.spec.tidy)
    if make is None:
        return [{"soort": ONBEKEND} for _ in values]
    return make(sd, values)


def recompute(record: Record, frame: pd.DataFrame) -> float | None:
    """The value a ``regels`` record describes, computed from its rows of ``frame`` alone.

    Used by the tests (and usable by an auditor with the archived file) to show that the
    recorded rows and rule reproduce the stored value.
    """
    g = frame.loc[parse_rows(record["rijen"])]
    op, kolom = record["bewerking"], record.get("kolom")
    if op == "aantal":
        return float(len(g))
    if op == "som":
        col = g[kolom]
        return None if col.isna().any() else float(col.sum())
    if op in ("mediaan_duur", "p90_duur"):
        days = (g["einddatum"] - g["startdatum"]).dt.days.to_numpy(dtype=float)
        return float(np.percentile(days, 50 if op == "mediaan_duur" else 90)) if len(days) else None
    if op == "aandeel_ja":
        known = g[kolom].dropna()
        return float(sum(bool(x) for x in known)) / len(known) if len(known) else None
    if op == "aantal_ja":
        return float(sum(bool(x) for x in g[kolom].dropna()))
    raise ValueError(f"onbekende bewerking {op!r}")
