"""A fourth partner is data, not code: a fictitious source from inbox to workbook.

The test copies include/ to a temporary configuration, adds one YAML block for a
"Centrum Seksueel Geweld" source (its sheet, its indicators, its sheet in the workbook),
generates its expectation suite and a delivery from that description alone, and runs the
real command line (``python -m etl ingest`` and ``report``) against it in a fresh
process. Nothing in ``etl/`` changes; if any module still names the three founding
sources where it should read the configuration, the new source's figures go missing
here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
QUARTER = "2024Q4"
TITLE = "Centrum Seksueel Geweld"

CSG_SOURCE = {
    "naam": "Centrum Seksueel Geweld",
    "deadline_dagen": 21,
    "sheets": [{
        "name": "Hulpvragen",
        "aliases": ["hulpvragen per gemeente"],
        "required": True,
        "tidy": "gemeente",
        "key": ["periode", "gemeente"],
        "all_gemeenten": True,
        "columns": [
            {"name": "periode", "type": "periode", "aliases": ["kwartaal"]},
            {"name": "gemeente", "type": "gemeente", "aliases": ["woongemeente"]},
            {"name": "hulpvragen_acuut", "type": "count", "aliases": ["acute hulpvragen"]},
            {"name": "hulpvragen_niet_acuut", "type": "count", "aliases": ["niet-acute hulpvragen"]},
            {"name": "hulpvragen_totaal", "type": "count", "aliases": ["hulpvragen"]},
            {"name": "forensisch_onderzoek", "type": "count", "aliases": ["forensisch medisch onderzoek"]},
        ],
        "rules": [
            {"kind": "sum", "total": "hulpvragen_totaal", "parts": ["hulpvragen_acuut", "hulpvragen_niet_acuut"]},
            {"kind": "lte", "small": "forensisch_onderzoek", "large": "hulpvragen_acuut"},
        ],
    }],
}
CSG_INDICATORS = {
    "hulpvragen_acuut": {"label": "Acute hulpvragen", "soort": "aantal",
                         "definitie": "Hulpvragen binnen 7 dagen na seksueel geweld."},
    "hulpvragen_niet_acuut": {"label": "Niet-acute hulpvragen", "soort": "aantal",
                              "definitie": "Hulpvragen later dan 7 dagen na seksueel geweld."},
    "hulpvragen_totaal": {"label": "Hulpvragen", "soort": "aantal",
                          "definitie": "Alle hulpvragen aan het Centrum Seksueel Geweld."},
    "forensisch_onderzoek": {"label": "Forensisch onderzoek", "soort": "aantal",
                             "definitie": "Acute hulpvragen met forensisch-medisch onderzoek."},
}


def _config(tmp: Path) -> dict[str, str]:
    include = tmp / "include"
    shutil.copytree(ROOT / "include", include)
    sources = yaml.safe_load((include / "sources.yaml").read_text(encoding="utf-8"))
    sources["sources"]["csg"] = CSG_SOURCE
    (include / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), encoding="utf-8")
    indicators = yaml.safe_load((include / "indicators.yaml").read_text(encoding="utf-8"))
    indicators["indicatoren"]["csg"] = CSG_INDICATORS
    (include / "indicators.yaml").write_text(yaml.safe_dump(indicators, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    layout = yaml.safe_load((include / "rapport.yaml").read_text(encoding="utf-8"))
    layout["bladen"].append({"bron": "csg", "titel": TITLE, "opmaak": "tabel",
                             "partner": "het Centrum Seksueel Geweld"})
    (include / "rapport.yaml").write_text(yaml.safe_dump(layout, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "MONITOR_INCLUDE_DIR": str(include), "MONITOR_EXPECTATIONS_DIR": str(tmp / "expectations"),
           "MONITOR_DATA_DIR": str(tmp / "data"), "MONITOR_STABLE_SECONDS": "0"}
    return env


def _run(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_a_fourth_source_runs_from_inbox_to_workbook_without_code_change(tmp_path: Path) -> None:
    env = _config(tmp_path)
    _run(env, "-c", "from etl.core.sources import load_sources; from etl.intake.validate import write_suites; "
                    "write_suites(load_sources().values())")
    assert (tmp_path / "expectations" / "csg.json").is_file()
    drop = tmp_path / "data" / "inbox" / "csg" / "CSG_Hulpvragen_2024-Q4.xlsx"
    truth_src = _run(env, "-c", "import json, sys; from pathlib import Path; from etl.core.config import DataDirs; "
                                "from etl.core.sources import get_source; from etl.tools.synthetic import write_synthetic; "
                                "DataDirs.from_env().ensure(); "
                                f"t = write_synthetic(get_source('csg'), '{QUARTER}', Path(sys.argv[1])); "
                                "print(json.dumps([[k[1], k[2], v] for k, v in t.items()]))", str(drop))
    truth = {(code, col): v for code, col, v in yaml.safe_load(truth_src.strip().splitlines()[-1])}

    out = _run(env, "-m", "etl", "ingest")
    assert "csg" in out
    data = tmp_path / "data"
    assert list((data / "archive" / "csg").glob("*.xlsx")), f"not accepted: {out}"
    assert not any((data / "processing" / "csg").iterdir())
    assert list((data / "outbox" / "csg").glob("*.json"))

    dataset = _run(env, "-m", "etl", "dataset", "--quarter", QUARTER)
    assert "csg" in dataset and "hulpvragen_totaal" in dataset

    workbook = Path(_run(env, "-m", "etl", "report", "--quarter", QUARTER).strip().splitlines()[-1])
    wb = load_workbook(workbook, data_only=True)
    assert TITLE in wb.sheetnames
    ws = wb[TITLE]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header_idx = next(i for i, r in enumerate(rows) if r[0] == "Gemeente")
    header = rows[header_idx]
    names = {g["naam"]: g["code"] for g in _gemeenten()}
    seen = 0
    for r in rows[header_idx + 1:]:
        if r[0] not in names and r[0] != "Regio totaal":
            continue
        for label, key in (("Acute hulpvragen", "hulpvragen_acuut"), ("Hulpvragen", "hulpvragen_totaal")):
            value = r[header.index(label)]
            if r[0] == "Regio totaal":
                expected = sum(v for (code, col), v in truth.items() if col == key)
            else:
                expected = truth[(names[r[0]], key)]
            assert value == expected, (r[0], key, value, expected)
            seen += 1
    assert seen == 2 * (len(names) + 1)
    definities = " ".join(str(c.value) for row in wb["Definities"].iter_rows() for c in row if c.value)
    assert "Forensisch onderzoek" in definities


def _gemeenten() -> list[dict[str, str]]:
    import csv

    with open(ROOT / "include" / "gemeenten.csv", encoding="utf-8") as fh:
        return [g for g in csv.DictReader(fh) if g["actueel"] == "ja"]
