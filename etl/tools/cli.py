"""Command line for engineers: the same work as the DAG tasks, without a scheduler.

    python -m etl ingest                      process the inbox once
    python -m etl dataset --quarter 2024Q3    the combined dataset as CSV (exact values)
    python -m etl report --quarter 2024Q3     the quarterly workbook
    python -m etl samples --out DIR           synthetic partner workbooks
    python -m etl suites [--check]            (re)generate expectations/*.json and docs/aanleverformat.md
    python -m etl template --source wij       a blank partner template
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from etl.core.config import SOURCES, DataDirs
from etl.core.quarters import QUARTER_RE


def _quarter(text: str) -> str:
    q = text.strip().upper().replace("-", "")
    if not QUARTER_RE.match(q):
        raise argparse.ArgumentTypeError(f"verwacht een kwartaal als 2024Q3, kreeg {text!r}")
    return q


def cmd_ingest(args: argparse.Namespace) -> int:
    """One pass per source, each on its own: a failure in one source never stops the next
    (process_inbox also isolates files; this guards what lies around it: the store, the lock).
    Each file is bounded by the sandbox's time limit, so no partner waits on another's file
    longer than that."""
    from etl.intake.inbox import process_inbox

    dirs = DataDirs.from_env()
    outcomes = []
    failed = []
    for bron in SOURCES:
        try:
            found = process_inbox(dirs, sources=(bron,))
        except Exception as exc:  # noqa: BLE001 - see docstring; the type only, never a message
            logging.getLogger("etl.ingest").error("bron %s niet verwerkt: %s", bron, type(exc).__name__)
            failed.append(bron)
            continue
        outcomes += found
        for o in found:
            print(f"{o.status:13} {o.bron:14} {o.bestand}  -> {o.location}", flush=True)
    if not outcomes and not failed:
        print("inbox leeg (of bestanden nog niet stabiel)")
    if failed:
        print(f"niet verwerkt door een fout: {', '.join(failed)} (zie het log)", file=sys.stderr)
        return 1
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from etl.store.dataset import load, to_csv

    sys.stdout.write(to_csv(load([args.quarter])))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from etl.report import build_workbook

    print(build_workbook(args.quarter, DataDirs.from_env()))
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from etl.tools import samples

    argv = ["--out", str(args.out or DataDirs.from_env().inbox)]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.quarters:
        argv += ["--quarters", args.quarters]
    return samples.main(argv) or 0


def cmd_suites(args: argparse.Namespace) -> int:
    """Everything generated from include/sources.yaml: the GX suites and the partner format doc."""
    from etl.core.sources import load_sources
    from etl.intake.validate import suite_dict, suite_path, write_suites
    from etl.tools.docs import DOC_PATH, render, write_docs

    if args.check:
        stale = [s.key for s in load_sources().values()
                 if not suite_path(s.key).exists()
                 or json.loads(suite_path(s.key).read_text(encoding="utf-8")) != suite_dict(s)]
        if not DOC_PATH.exists() or DOC_PATH.read_text(encoding="utf-8") != render(load_sources()):
            stale.append(str(DOC_PATH.name))
        if stale:
            print(f"verouderd: {', '.join(stale)}; draai `python -m etl suites`", file=sys.stderr)
            return 1
        print("suites up to date")
        return 0
    for p in write_suites(load_sources().values()):
        print(p)
    print(write_docs(load_sources()))
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from etl.tools.templates import write_template

    out = Path(args.out) if args.out else DataDirs.from_env().root / "templates"
    print(write_template(args.source, out))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m etl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ingest", help="process the inbox once").set_defaults(func=cmd_ingest)
    d = sub.add_parser("dataset", help="print the combined dataset for a quarter as CSV")
    d.add_argument("--quarter", type=_quarter, required=True)
    d.set_defaults(func=cmd_dataset)
    r = sub.add_parser("report", help="build the quarterly workbook")
    r.add_argument("--quarter", type=_quarter, required=True)
    r.set_defaults(func=cmd_report)
    s = sub.add_parser("samples", help="write synthetic partner workbooks into the inbox")
    s.add_argument("--out", type=Path)
    s.add_argument("--seed", type=int)
    s.add_argument("--quarters")
    s.set_defaults(func=cmd_samples)
    g = sub.add_parser("suites", help="generate expectations/*.json and docs/aanleverformat.md from include/sources.yaml")
    g.add_argument("--check", action="store_true", help="fail if the committed suites are stale")
    g.set_defaults(func=cmd_suites)
    t = sub.add_parser("template", help="write a blank partner template")
    t.add_argument("--source", choices=SOURCES, required=True)
    t.add_argument("--out")
    t.set_defaults(func=cmd_template)
    args = p.parse_args(argv)
    return args.func(args)
