"""OpenLineage dataset lineage from the DAG tasks: which files went in, what came out.

The Airflow OpenLineage provider emits a START and a COMPLETE event per task run. Our
tasks are plain ``@task`` functions, for which the provider has no extractor; it then
takes the inputs and outputs the task reported to Airflow's hook lineage collector
during the run, and only without those falls back to the task's static
``inlets``/``outlets``. So each task reports the real paths here (the partner files it
read, the store, the receipts, the export, the workbook), and the DAGs declare the
folders as static inlets/outlets for runs that touched nothing.

Off unless configured: without an ``[openlineage]`` transport (or ``OPENLINEAGE_URL``)
the provider is disabled, the collector is a no-op and these calls cost nothing. The
embedded default documents a file transport (docs/provenance.md). Only paths are
reported, never a cell value; a partner's file name appears as it already does in the
task log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from etl.core.config import DataDirs

log = logging.getLogger(__name__)


class _Context:
    """The "hook" the collector attributes our lineage to (it keys entries by object identity)."""

    def __repr__(self) -> str:
        return "etl.tools.lineage"


_CONTEXT = _Context()
_last_task: tuple | None = None


def _forget_other_tasks(collector: object) -> None:
    """Drop what an earlier task in this process reported.

    The collector is a process-wide singleton (``functools.cache``). A worker runs each task
    in a fresh process, but ``airflow dags test`` runs every task of the run in one process,
    and the collector would then hand one task's files to the next task's events. Clearing
    uses the collector's private dicts (Airflow 3.3); if they are not there, nothing is
    cleared and the events may repeat earlier files, which is all that can go wrong.
    A task that reports nothing still sees its predecessor's lineage under ``dags test``.
    """
    global _last_task
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        current = (ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number)
    except Exception:  # noqa: BLE001 - outside a task (CLI, tests): nothing to separate
        return
    if _last_task is not None and _last_task != current:
        for name in ("_inputs", "_outputs", "_input_counts", "_output_counts"):
            store = getattr(collector, name, None)
            if hasattr(store, "clear"):
                store.clear()
    _last_task = current


def file_uri(path: Path | str) -> str:
    """``file:///abs/path``: the AIP-60 URI the common-io provider turns into an OpenLineage dataset."""
    return Path(path).absolute().as_uri()


def report(inputs: Iterable[Path | str] = (), outputs: Iterable[Path | str] = ()) -> None:
    """Tell the hook lineage collector what this task read and wrote (no-op when lineage is off)."""
    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
    except ImportError:            # Airflow or the compat provider absent (plain CLI use)
        return
    collector = get_hook_lineage_collector()
    _forget_other_tasks(collector)
    for p in inputs:
        collector.add_input_asset(context=_CONTEXT, uri=file_uri(p))
    for p in outputs:
        collector.add_output_asset(context=_CONTEXT, uri=file_uri(p))


def _folder(o: dict) -> str:
    from etl.core.organisations import has_several

    return f"{o['bron']}/{o['organisatie']}" if o.get("organisatie") and has_several(o["bron"]) else o["bron"]


def report_intake(outcomes: Iterable[dict], dirs: DataDirs | None = None) -> None:
    """An inbox run: each partner file as it lay in the inbox in, the store and receipts out."""
    dirs = dirs or DataDirs.from_env()
    outcomes = list(outcomes)
    inputs = [dirs.inbox / _folder(o) / Path(o["bestand"]).name for o in outcomes]
    outputs = [dirs.db_path, *(dirs.root / o["ontvangstbewijs"] for o in outcomes if o.get("ontvangstbewijs"))] \
        if outcomes else []
    report(inputs, outputs)
