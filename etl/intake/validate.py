"""Validation: the source's Great Expectations suite plus the contract checks GX can't express.

The suites are generated from ``include/sources.yaml`` into ``expectations/<source>.json``
(``python -m etl suites``) and committed, so a change of rules is reviewable in a diff;
at run time the committed JSON is what runs. Each expectation carries, in its
``meta``, the sheet it belongs to and the Dutch text a partner reads when it fails.
The DataFrames are indexed by Excel row number, so GX's ``unexpected_index_list`` is
already the row a partner sees.

``great_expectations`` is imported lazily and its context is built once per process:
the import costs seconds and must not happen at DAG-parse time.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from etl.core.organisations import Organisation, original
from etl.core.problems import Problem, error, warning
from etl.core.quarters import QUARTER_PATTERN, days_in_quarter, quarter_end, quarter_start
from etl.core.reference import gemeente_names, gemeenten, wijken
from etl.core.sources import Sheet, Source
from etl.intake.read import ReadResult, SheetData

#: The committed suites; ``MONITOR_EXPECTATIONS_DIR`` goes with ``MONITOR_INCLUDE_DIR`` (another config).
EXPECTATIONS_DIR = Path(os.environ.get("MONITOR_EXPECTATIONS_DIR") or Path(__file__).resolve().parents[2] / "expectations")
NEG_PREFIX = "__min__"


# --- suite generation (from the description) ----------------------------------------

def _exp(type_: str, sheet: Sheet, code: str, message: str, fix: str, columns: Iterable[str], **kwargs) -> dict:
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"sheet": sheet.name, "code": code, "columns": list(columns), "message": message, "fix": fix},
        "severity": "critical",
    }


def suite_dict(source: Source) -> dict[str, Any]:
    """The expectation suite for a source as GX JSON, deterministic for a clean diff."""
    exps: list[dict] = []
    region = [g.code for g in gemeenten()]
    wijk_names = [w.naam for w in wijken()]
    for sheet in source.sheets:
        for col in sheet.columns:
            n = col.name
            if n in sheet.key or (col.type == "date" and not col.nullable):
                exps.append(_exp("expect_column_values_to_not_be_null", sheet, "waarde_ontbreekt",
                                 f"De kolom '{n}' is leeg in een regel met gegevens.",
                                 f"Vul '{n}' in voor elke regel.", [n], column=n))
            if col.type == "periode":
                exps.append(_exp("expect_column_values_to_match_regex", sheet, "periode_onbekend",
                                 "Het kwartaal is niet herkend.", "Schrijf het kwartaal als 2024-Q3.", [n],
                                 column=n, regex=QUARTER_PATTERN))
            elif col.type == "gemeente":
                exps.append(_exp("expect_column_values_to_be_in_set", sheet, "gemeente_onbekend",
                                 "Deze gemeente hoort niet bij de regio Groningen of is niet herkend.",
                                 "Gebruik de gemeentenaam of CBS-code uit het sjabloon (bijvoorbeeld 'Groningen' of 'GM0014').",
                                 [n], column=n, value_set=region))
            elif col.type == "wijk":
                exps.append(_exp("expect_column_values_to_be_in_set", sheet, "wijk_onbekend",
                                 "Deze wijk is geen WIJ-gebied uit de referentielijst.",
                                 f"Gebruik een van: {', '.join(wijk_names)}.", [n], column=n, value_set=wijk_names))
            elif col.type == "enum":
                exps.append(_exp("expect_column_values_to_be_in_set", sheet, "waarde_niet_toegestaan",
                                 f"De waarde in '{n}' is niet toegestaan.", f"Gebruik een van: {', '.join(col.allowed)}.",
                                 [n], column=n, value_set=list(col.allowed)))
            elif col.type in {"count", "number"}:
                fix = ("Vul het juiste aantal in (0 als er geen kinderen zijn, leeg als het onbekend is)."
                       if n == "aantal_kinderen" else
                       f"Vul het juiste aantal '{n}' in (0 als het er geen waren, leeg als het onbekend is)."
                       if col.type == "count" else f"Vul het juiste getal '{n}' in (0 of meer), of laat de cel leeg als het onbekend is.")
                exps.append(_exp("expect_column_values_to_be_between", sheet, "negatief",
                                 f"'{n}' is negatief.", fix, [n], column=n, min_value=0))
        exps.append(_exp("expect_compound_columns_to_be_unique" if len(sheet.key) > 1 else "expect_column_values_to_be_unique",
                         sheet, "dubbele_regel",
                         f"Er staan meerdere regels voor dezelfde {' en '.join(sheet.key)}.",
                         "Houd per combinatie één regel over (tel dubbele regels samen of verwijder ze).",
                         sheet.key,
                         **({"column_list": list(sheet.key)} if len(sheet.key) > 1 else {"column": sheet.key[0]})))
        for rule in sheet.rules:
            if rule.kind == "sum":
                parts, total = rule["parts"], rule["total"]
                exps.append(_exp("expect_multicolumn_sum_to_equal", sheet, "som_klopt_niet",
                                 f"{' + '.join(parts)} is niet gelijk aan {total}.",
                                 f"Zorg dat de onderdelen samen precies '{total}' geven (een cel met '<5' telt niet mee in deze controle).",
                                 [*parts, total], column_list=[*parts, NEG_PREFIX + total], sum_total=0,
                                 ignore_row_if="any_value_is_missing"))
            elif rule.kind == "lte":
                small, large = rule["small"], rule["large"]
                exps.append(_exp("expect_column_pair_values_a_to_be_greater_than_b", sheet, "groter_dan_toegestaan",
                                 f"'{small}' is groter dan '{large}'.",
                                 f"'{small}' kan niet groter zijn dan '{large}': controleer beide cellen.",
                                 [small, large], column_A=large, column_B=small, or_equal=True,
                                 ignore_row_if="either_value_is_missing"))
    return {"name": source.key, "id": None, "expectations": exps,
            "meta": {"generated_from": "include/sources.yaml", "note": "Generated by `python -m etl suites`; do not edit by hand."},
            "notes": None}


def suite_path(source_key: str) -> Path:
    return EXPECTATIONS_DIR / f"{source_key}.json"


def write_suites(sources: Iterable[Source]) -> list[Path]:
    paths = []
    for s in sources:
        p = suite_path(s.key)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(suite_dict(s), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


# --- running ------------------------------------------------------------------------

@dataclass
class ValidationSummary:
    """What the Datakwaliteit sheet and receipts show: counts only, never values."""

    evaluated: int = 0
    passed: int = 0
    failed: list[str] = field(default_factory=list)   # expectation types that failed, "sheet: type"

    def to_dict(self) -> dict:
        return {"evaluated": self.evaluated, "passed": self.passed, "failed": self.failed}


class _Gx:
    """One ephemeral GX context per process, with one pandas asset reused for every batch."""

    def __init__(self) -> None:
        import great_expectations as gx

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        asset = self.context.data_sources.add_pandas("levering").add_dataframe_asset("tabblad")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("heel_tabblad")
        self._suites: dict[str, dict[str, Any]] = {}

    def suites_for(self, source_key: str) -> dict[str, Any]:
        """Per sheet, a GX suite holding that sheet's expectations from the committed JSON."""
        if source_key not in self._suites:
            d = json.loads(suite_path(source_key).read_text(encoding="utf-8"))
            by_sheet: dict[str, list[dict]] = {}
            for e in d["expectations"]:
                by_sheet.setdefault(e["meta"]["sheet"], []).append(e)
            self._suites[source_key] = {
                sheet: self.gx.ExpectationSuite(name=f"{source_key}.{sheet}", expectations=exps)
                for sheet, exps in by_sheet.items()
            }
        return self._suites[source_key]

    def run(self, suite, frame: pd.DataFrame) -> list:
        """The suite's results on one sheet: pass/fail for all, the unexpected rows for the failed.

        Two passes, because most deliveries pass: ``BOOLEAN_ONLY`` computes only what decides
        success (half the cost of ``COMPLETE`` on a small sheet, measured in bench/README.md);
        only the expectations that failed run again with ``COMPLETE``, for the rows and cells
        a partner reads. Success does not depend on the result format (no ``mostly`` here).
        """
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        results = list(batch.validate(suite, result_format="BOOLEAN_ONLY").results)
        failed = [r.expectation_config for r in results if not r.success]
        if not failed:
            return results
        detail = self.gx.ExpectationSuite(name=f"{suite.name}.afgekeurd", expectations=failed)
        detailed = list(batch.validate(detail, result_format={"result_format": "COMPLETE",
                                                              "include_unexpected_rows": False}).results)
        by_config = {_identity(r.expectation_config): r for r in detailed}
        if len(by_config) != len(failed) or any(r.success for r in detailed):
            raise RuntimeError("GX gave a different outcome for the same expectations on the same batch")
        return [r if r.success else by_config[_identity(r.expectation_config)] for r in results]


def _identity(config) -> str:
    """One expectation, as configured: its type, arguments and meta (sheet, code, columns)."""
    return json.dumps([config.type, config.kwargs, config.meta], sort_keys=True, default=str)


@cache
def _gx() -> _Gx:
    """The one GX context of this process (import ~3-6 s cpu on this machine, context ~0.01 s).

    GX 1.x has no lighter import path: ``great_expectations/__init__.py`` imports the data
    context, which imports every expectation, so ``import great_expectations.core`` or
    ``.expectations`` costs the same as the whole package (measured with
    ``python -X importtime``; see bench/README.md).
    """
    # GX logs ~200 "Skipping registering function ..." INFO lines (its public-API docs
    # decorator) on first import; they filled every task log. Silence that logger only.
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    gx = _Gx()
    # GX leaves some millions of long-lived objects on the heap. Every full collection the
    # cyclic GC runs afterwards walks all of them: reading a 200k-row workbook triggers
    # enough of those to cost more than the read itself (safety scan 1.5 s -> 3.9 s, measured
    # in bench/README.md). Moving what exists now into the permanent generation
    # (``gc.freeze``) takes them out of every later collection; they are never garbage
    # anyway. It also keeps the pages shared with forked analysis children (no refcount
    # writes by the GC), which is what the CPython docs recommend before a fork.
    gc.freeze()
    return gx


def preload(sources: Iterable[str] = ()) -> None:
    """Import GX and build the context (and the given sources' suites) ahead of the first file.

    For a long-lived process that forks task processes (a Celery worker child: see
    etl/tools/celery_preload.py): the forked task inherits the imported modules and pays
    nothing; a process that never validates should not call this.
    """
    gx = _gx()
    for key in sources:
        gx.suites_for(key)


def run_expectations(source: Source, read: ReadResult) -> tuple[list[Problem], ValidationSummary]:
    problems: list[Problem] = []
    summary = ValidationSummary()
    suites = _gx().suites_for(source.key)
    for name, sd in read.sheets.items():
        suite = suites.get(name)
        if suite is None or sd.frame.empty:
            continue
        frame = sd.frame.copy()
        for col in sd.spec.value_columns:
            frame[NEG_PREFIX + col.name] = -frame[col.name]
        for r in _gx().run(suite, frame):
            summary.evaluated += 1
            if r.success:
                summary.passed += 1
                continue
            meta = r.expectation_config.meta
            summary.failed.append(f"{name}: {r.expectation_config.type}")
            problem = _without_unreadable(_problem_from_result(sd, meta, r.result or {}), sd, meta)
            if problem is not None:
                problems.append(problem)
    return problems, summary


def _without_unreadable(p: Problem, sd: SheetData, meta: dict) -> Problem | None:
    """A cell the reader could not parse is already reported (``waarde_onleesbaar``); its
    empty value must not also read as "empty" (``waarde_ontbreekt``) in the receipt."""
    if p.code != "waarde_ontbreekt" or len(meta["columns"]) != 1:
        return p
    known = set(sd.unreadable.get(meta["columns"][0], ()))
    rows = tuple(r for r in p.rows if r not in known)
    if not rows:
        return None
    letter = sd.letters.get(meta["columns"][0])
    return replace(p, rows=rows, cells=tuple(f"{letter}{r}" for r in rows[:200]) if letter else ())


def _shown(v: object) -> str:
    """A value as the partner typed it: counts are held as floats, so -3.0 is shown as -3."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _problem_from_result(sd: SheetData, meta: dict, result: dict) -> Problem:
    # With a named index (``excel_rij``) GX 1.24 reports each unexpected row as a dict
    # {index name: row, column: value}; keep only the row number, never the value.
    rows = tuple(int(i["excel_rij"] if isinstance(i, dict) else i) for i in result.get("unexpected_index_list") or ())
    columns = meta["columns"]
    shown = [sd.headers.get(c, c) for c in columns]
    cells = tuple(f"{sd.letters[c]}{r}" for r in rows[:200] for c in columns if c in sd.letters)
    examples: tuple[str, ...] = ()
    if len(columns) == 1 and sd.spec.column(columns[0]).type not in {"id", "text", "date"}:
        examples = tuple(dict.fromkeys(_shown(v) for v in (result.get("unexpected_list") or [])))[:5]
    return error(meta["code"], meta["message"], meta["fix"], sheet=sd.found_name,
                 column=", ".join(shown), rows=rows, cells=cells, examples=examples)


# --- contract checks GX cannot express -----------------------------------------------

def contract_checks(source: Source, read: ReadResult, org: Organisation | None = None) -> list[Problem]:
    """The rules GX cannot express. 'Every municipality present' means every municipality
    of the delivering organisation (the whole region for a region-wide partner)."""
    org = org or original(source.key)
    problems: list[Problem] = []
    for sd in read.sheets.values():
        f = sd.frame
        for rule in sd.spec.rules:
            if rule.kind == "active_in_period" and not f.empty:
                problems.extend(_check_active(sd))
            elif rule.kind == "capacity" and not f.empty:
                problems.extend(_check_capacity(sd, rule["places"], rule["occupied"]))
        expects_all = sd.spec.all_gemeenten or sd.spec.absent_gemeente == "zero"
        if expects_all and "gemeente" in f and f["periode"].notna().all():
            # (with an unreadable quarter somewhere, "which municipality is missing" cannot be told)
            names = {c: n for c, n in gemeente_names().items() if c in org.gemeenten}
            for periode, group in f.groupby("periode"):
                missing = [names[c] for c in names if c not in set(group["gemeente"])]
                if not missing:
                    continue
                listed = _names_nl(missing)
                if sd.spec.absent_gemeente == "zero":
                    problems.append(warning(
                        "gemeente_geen_regel_nul",
                        f"Voor {periode} staat er geen regel voor {listed}: geteld als 0. "
                        "Zo staat het in het aanleverformat: een gemeente zonder regel had geen cliënten.",
                        "Geen actie nodig als deze gemeenten in dit kwartaal geen cliënten hadden. "
                        "Had een gemeente wel cliënten, voeg dan een regel toe en lever opnieuw aan.",
                        sheet=sd.found_name, column=sd.headers.get("gemeente"),
                        extra={"periode": periode, "gemeenten": missing, "geteld_als": 0}))
                else:
                    problems.append(warning(
                        "gemeente_ontbreekt",
                        f"Voor {periode} ontbreekt een regel voor {listed}. Hun cijfers en de regiototalen ontbreken "
                        "daardoor in de monitor (ze tellen niet als 0).",
                        "Voeg een regel toe voor elke gemeente in de regio, ook als de aantallen 0 zijn.",
                        sheet=sd.found_name, column=sd.headers.get("gemeente"),
                        extra={"periode": periode, "gemeenten": missing, "geteld_als": None}))
    return problems


def _names_nl(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


def _check_active(sd: SheetData) -> list[Problem]:
    f = sd.frame
    periode = f["periode"].where(f["periode"].astype(str).str.match(QUARTER_PATTERN), None)
    valid = periode.notna() & f["startdatum"].notna()
    if not valid.any():
        return []
    quarters = periode[valid]
    distinct = quarters.unique()          # a delivery holds a few quarters: compute each bound once
    starts = pd.to_datetime(quarters.map({q: quarter_start(q) for q in distinct}))
    ends = pd.to_datetime(quarters.map({q: quarter_end(q) for q in distinct}))
    start = f.loc[valid, "startdatum"]
    end = f.loc[valid, "einddatum"]
    bad = (start > ends) | (end.notna() & (end < starts))
    rows = tuple(int(i) for i in bad[bad].index)
    if not rows:
        return []
    cols = ["periode", "startdatum", "einddatum"]
    return [error("niet_actief_in_periode",
                  "De casus was niet actief in het kwartaal van de regel: hij begon na het kwartaal of was er al voor afgesloten.",
                  "Controleer periode, startdatum en einddatum. Lever alleen casussen aan die in het kwartaal actief waren.",
                  sheet=sd.found_name, column=", ".join(sd.headers.get(c, c) for c in cols), rows=rows,
                  cells=tuple(f"{sd.letters[c]}{r}" for r in rows[:200] for c in cols if c in sd.letters))]


def _check_capacity(sd: SheetData, places: str, occupied: str) -> list[Problem]:

    f = sd.frame
    ok = f["periode"].astype(str).str.match(QUARTER_PATTERN) & f[places].notna() & f[occupied].notna()
    if not ok.any():
        return []
    capacity = f.loc[ok, places] * f.loc[ok, "periode"].map(days_in_quarter)
    bad = f.loc[ok, occupied] > capacity
    rows = tuple(int(i) for i in bad[bad].index)
    if not rows:
        return []
    return [error("bezetting_te_hoog",
                  f"'{occupied}' is groter dan '{places}' maal het aantal dagen in het kwartaal: de bezetting zou boven 100% liggen.",
                  "Controleer het aantal plaatsen en de bezette plaatsdagen.",
                  sheet=sd.found_name, column=f"{sd.headers.get(occupied, occupied)}, {sd.headers.get(places, places)}",
                  rows=rows, cells=tuple(f"{sd.letters[c]}{r}" for r in rows for c in (places, occupied) if c in sd.letters))]


def validate(source: Source, read: ReadResult, org: Organisation | None = None) -> tuple[list[Problem], ValidationSummary]:
    """All problems of a parsed delivery: GX expectations first, then the contract checks."""
    problems, summary = run_expectations(source, read)
    problems.extend(contract_checks(source, read, org))
    return problems, summary
