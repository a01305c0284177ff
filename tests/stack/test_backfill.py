"""Back-fills as the README says, on the embedded stack of `make airflow` (real scheduler, LocalExecutor).

Four quarters with ``airflow backfill create`` and one with ``airflow dags trigger
--conf``: each must end in a workbook whose cover names the right quarter, within a
bounded time, and the task logs must show our own INFO lines (not GX's).
"""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

DAG = "kwartaalrapportage"
FOUR = ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]


def cover_quarter(path) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        rows = {r[0]: r[1] for r in wb["Voorblad"].iter_rows(max_row=12, max_col=2, values_only=True) if r[0]}
        return rows["Kwartaal"]
    finally:
        wb.close()


def wait_for_runs(stack, where: str, params: tuple, count: int, timeout: float) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        stack.assert_running()
        runs = stack.query(f"SELECT run_id, state FROM dag_run WHERE dag_id = ? AND {where}", (DAG, *params))
        if len(runs) == count and all(s in ("success", "failed") for _, s in runs):
            return runs
        assert time.monotonic() < deadline, f"runs not done after {timeout:.0f} s: {runs}\n{stack.diagnose()}"
        time.sleep(3)


@pytest.fixture(scope="module")
def backfilled(embedded_stack):
    stack = embedded_stack
    stack.shell(f"airflow dags unpause {DAG}")
    t = time.monotonic()
    stack.shell(f"airflow backfill create --dag-id {DAG} --from-date 2024-04-01 --to-date 2025-01-10")
    runs = wait_for_runs(stack, "run_type = 'backfill'", (), 4, timeout=1200)
    elapsed = time.monotonic() - t
    print(f"\nback-fill of four quarters: {elapsed:.0f} s from `backfill create` to the last run done")
    return stack, runs, elapsed


def test_backfill_of_four_quarters_builds_four_workbooks(backfilled):
    stack, runs, elapsed = backfilled
    assert sorted(s for _, s in runs) == ["success"] * 4, runs
    for q in FOUR:
        wb = stack.data / "reports" / f"monitor_{q}.xlsx"
        assert wb.exists(), f"no workbook for {q}"
        assert cover_quarter(wb).endswith(f"({q})"), (q, cover_quarter(wb))
    assert not (stack.data / "reports" / "monitor_2023Q4.xlsx").exists()   # not in the range
    assert elapsed < 1200


def test_task_logs_show_our_info_lines_and_not_gx_noise(backfilled):
    stack, _, _ = backfilled
    logs = sorted(stack.home.glob(f"logs/dag_id={DAG}/run_id=backfill__2024-10-05*/task_id=bepaal_kwartaal/attempt=*.log"))
    assert logs, "no task log file for bepaal_kwartaal"
    text = logs[-1].read_text(encoding="utf-8")
    assert "rapportage over 2024Q3 (afgeleid van logical date 2024-10-05" in text
    dataset_logs = sorted(stack.home.glob(f"logs/dag_id={DAG}/run_id=backfill__2024-10-05*/task_id=bouw_dataset/attempt=*.log"))
    assert "dataset 2024Q3:" in dataset_logs[-1].read_text(encoding="utf-8")
    everything = "".join(p.read_text(encoding="utf-8", errors="replace") for p in stack.home.glob("logs/dag_id=*/**/*.log"))
    assert "great_expectations._docs_decorators" not in everything


def test_trigger_with_a_quarter_in_conf(backfilled):
    """The README's command verbatim; the workbook from the back-fill is removed first, so it must be rebuilt."""
    stack, _, _ = backfilled
    wb = stack.data / "reports" / "monitor_2024Q3.xlsx"
    wb.unlink()
    t = time.monotonic()
    stack.shell(f"""airflow dags trigger {DAG} --conf '{{"kwartaal": "2024Q3"}}'""")
    (run_id, state), = wait_for_runs(stack, "run_type = 'manual'", (), 1, timeout=900)
    print(f"\ntriggered run {run_id} with kwartaal=2024Q3: {time.monotonic() - t:.0f} s")
    assert state == "success"
    assert cover_quarter(wb).endswith("(2024Q3)")
    logs = sorted(stack.home.glob(f"logs/dag_id={DAG}/run_id={run_id}/task_id=bepaal_kwartaal/attempt=*.log"))
    assert "rapportage over 2024Q3 (parameter kwartaal)" in logs[-1].read_text(encoding="utf-8")
