"""The benchmark (bench/run.py) still runs against the pipeline as it is today.

A tiny ``--quick`` run: every stage of every size, the floor, the naive path and the
report, on a few thousand rows, in one process. It asserts that the table and the
results file are complete, never how fast anything was (timing lives in bench/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_prints_the_whole_table(tmp_path):
    out = tmp_path / "bench-out"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out), "--no-dags"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    table = proc.stdout

    for size in ("region", "national", "200k workbook"):
        assert any(line.startswith(size) for line in table.splitlines()), size
    for stage in ("read", "validate (GX + contract)", "store", "dataset assembly", "workbook",
                  "INTAKE END TO END", "QUARTERLY REPORT"):
        assert table.count(stage) >= 3, stage
    for line in ("unzip floor", "bare fastexcel read (reader limit)", "bare python_calamine", "READ STAGE",
                 "fresh-process floor", "ours / floor", "naive path", "naive / ours", "naive read alone"):
        assert line in table, line
    # Tiny sizes say nothing about the targets: listed, never judged.
    targets = [line for line in table.splitlines() if line.strip().startswith("[")]
    assert len(targets) == 5 and all("n/a" in t for t in targets), targets

    results = json.loads((out / "results-quick.json").read_text())
    assert set(results["stages"]) == set(results["e2e"]) == set(results["report"]) == {"region", "national", "big"}
    national = results["stages"]["national"]
    # The national run really went through the bench-only reference: every municipality row was read.
    assert national["data_rows"] >= results["sizes"]["national_rows"] + 2 * results["sizes"]["national_gemeenten"]
    assert results["naive"]["failed_expectations"] == 0
    assert results["read"]["row_tags"] > results["sizes"]["big_rows"]
    # The reader limit and the fresh-process floor read the same file as our intake.
    assert results["floor_process"]["rows"] >= results["sizes"]["big_rows"]
    assert all(results["read"]["best"][k] > 0 for k in ("fastexcel", "calamine", "read_stage"))
    # Generated inputs are cached by their parameters.
    assert sorted(p.name for p in (out / "inputs").iterdir()) == [
        "national-g24-r2000-f2-vt26-own10", "region-q2-s20241", "wij-1000-s1"]
