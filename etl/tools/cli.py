"""Command line for engineers: the same work as the DAG tasks, without a scheduler.

    python -m etl ingest                      process the inbox once
    python -m etl dataset --quarter 2024Q3    the combined dataset as CSV (exact values)
    python -m etl report --quarter 2024Q3     the quarterly workbook
    python -m etl samples --out DIR           synthetic partner workbooks
    python -m etl suites [--check]            (re)generate expectations/*.json and docs/aanleverformat.md
    python -m etl template --source wij       a blank partner template
    python -m etl init                        create the data directories and the store (once, before the DAGs run)
    python -m etl health [--alert] [--watch 60]  exit 1 when files wait too long (and mail the data team)
    python -m etl herkomst --quarter 2024Q4 --indicator meldingen_totaal --gebied GM1895 [--json]
                                              where a figure came from: file, sheet, cells, rows
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


def cmd_init(args: argparse.Namespace) -> int:
    """Create the directory layout and the SQLite store before any task races to open it.

    Run by the compose service airflow-init; safe to repeat (and the store's creation
    lock makes concurrent first opens safe anyway, this only makes the first run quiet).
    """
    from etl.store.db import Store

    dirs = DataDirs.from_env().ensure()
    with Store.open(dirs) as store:
        mode, where = store.journal_mode(), store.describe()
    print(f"data directory {dirs.root} ready; store {where} (journal_mode={mode})")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 1 while a file has waited longer than --minutes in inbox/ or processing/."""
    import time

    from etl.notify.health import stalled

    dirs = DataDirs.from_env()
    while True:
        late = stalled(dirs, args.minutes)
        if late:
            w = late[0]
            print(f"STALLED: {len(late)} file(s) waiting > {args.minutes:g} min; oldest {w.where}/{w.bron}/{w.name} "
                  f"({w.age_seconds / 60:.1f} min)", flush=True)
            if args.alert:
                from etl.notify.mail import notify_inbox_stalled

                try:
                    notify_inbox_stalled(late, args.minutes, dirs=dirs)
                except Exception as exc:  # noqa: BLE001 - the watcher must keep watching
                    logging.getLogger(__name__).error("alert not sent: %s: %s", type(exc).__name__, exc)
        elif not args.watch:
            print(f"ok: no file waits longer than {args.minutes:g} min")
        if not args.watch:
            return 1 if late else 0
        time.sleep(args.watch)


def cmd_herkomst(args: argparse.Namespace) -> int:
    from etl.tools.herkomst import NotFound, render, trace

    try:
        node = trace(args.quarter, args.indicator, args.gebied, args.bron, intern=args.intern)
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(node, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render(node))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)   # its INFO lines are noise to a reader
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
    sub.add_parser("init", help="create the data directories and the store").set_defaults(func=cmd_init)
    h = sub.add_parser("health", help="exit 1 when files wait too long in inbox/ or processing/")
    h.add_argument("--minutes", type=float, default=None, help="threshold (default MONITOR_ALERT_MINUTES or 5)")
    h.add_argument("--alert", action="store_true", help="mail the data team (once per stall)")
    h.add_argument("--watch", type=float, default=0, help="repeat every N seconds, never exit")
    h.set_defaults(func=cmd_health)
    hk = sub.add_parser("herkomst", help="where a figure came from: file, sheet, cells or rows (Dutch, or --json)")
    hk.add_argument("--quarter", type=_quarter, required=True)
    hk.add_argument("--indicator", required=True)
    hk.add_argument("--gebied", required=True, help="regio, a municipality (GM0014 or name) or a WIJ wijk")
    hk.add_argument("--bron", choices=SOURCES, help="only needed when two sources report the indicator")
    hk.add_argument("--json", action="store_true", help="the chain as JSON")
    hk.add_argument("--intern", action="store_true",
                   help="also what disclosure control hides (exact values, cells, rows): internal use only")
    hk.set_defaults(func=cmd_herkomst)
    args = p.parse_args(argv)
    if getattr(args, "minutes", 0) is None:
        from etl.notify.health import DEFAULT_MINUTES

        args.minutes = DEFAULT_MINUTES
    return args.func(args)
