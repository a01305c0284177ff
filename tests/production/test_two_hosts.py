"""Two worker hosts on loopback (issue 15): exactly-once when two hosts share only PostgreSQL,
Redis and one data folder.

The loopback CeleryExecutor stack of ``tests/production/topology.py`` with two Celery
workers standing in for two hosts: each has its own working directory, its own TMPDIR,
its own host name (``AIRFLOW__CORE__HOSTNAME_CALLABLE``) and sees the shared data folder
under its own mount path (a symlink: what two NFS clients mounting the share at different
paths look like). They share only PostgreSQL (Airflow's metadata, and the store when
``MONITOR_STORE_URL`` is honoured), Redis and the data folder.

Sixty files are dropped at once: every sample quarter of three organisations' sources,
two local teams' case files in their own folders, exact duplicates under other names, a
correction, a broken file, a file in the shared root of a source with several
organisations and a local team's folder holding another organisation's figures. One
worker is killed with SIGKILL (its whole process tree) while it processes a file, then
started again. Afterwards: every file in exactly one place with exactly one receipt, one
current delivery per (source, organisation, quarter), no dataset value twice, an audit
event for every file. The timings are printed (``-s``).

Run: ``MONITOR_LOOPBACK_REDIS_DB=12 .venv/bin/python -m pytest tests/production/test_two_hosts.py -s``
"""

from __future__ import annotations

import io
import shutil
import statistics
import time
from pathlib import Path

import pytest

from tests.conftest import folder
from tests.production.conftest import create_database, pg_uri, postgres_reachable, redis_reachable
from tests.production.test_loopback import report
from tests.production.topology import Topology, wait_for

pytestmark = [pytest.mark.production, pytest.mark.slow, pytest.mark.timeout(1500)]

QUARTERS = ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1", "2024Q2", "2024Q3", "2024Q4"]
LOCAL_TEAMS = {"het-hogeland": ("Winsum", "Uithuizen", "Bedum", "Leens"),
               "westerkwartier": ("Zuidhorn", "Leek", "Marum", "Grootegast")}
WORKERS = ("celery-worker", "celery-worker-2")


def _local_team_copy(src: Path, dst: Path, wijken: tuple[str, ...]) -> Path:
    """A WIJ-format case file of a local team: WIJ Groningen's sample with the team's own
    wijken (city wijk names mapped onto them) and without the group sheet (optional)."""
    import openpyxl

    from etl.core.reference import wijk_lookup, wijken_of
    from etl.core.sources import fold

    city = {w.naam for w in wijken_of("GM0014")}
    lookup = wijk_lookup()
    wb = openpyxl.load_workbook(src)
    for ws in list(wb.worksheets):
        if "groep" in fold(ws.title):
            wb.remove(ws)
            continue
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    hit = lookup.get(fold(cell.value)) or lookup.get(fold(cell.value).removeprefix("wij "))
                    if hit in city:
                        cell.value = wijken[sorted(city).index(hit) % len(wijken)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    wb.save(buf)
    dst.write_bytes(buf.getvalue())
    return dst


def build_drop(staging: Path) -> list[tuple[Path, str]]:
    """(file, partner folder relative to inbox/) for the sixty files, all names distinct."""
    from etl.tools.samples import generate_samples
    from tests.fixtures.catalogue import CASES, build_case

    samples = generate_samples(staging / "samples", quarters=QUARTERS)
    base = [(f, samples.folder(f)) for f in samples.files if samples.folder(f).count("/") <= 1]
    base = [(f, d) for f, d in base if not (d.startswith("wij/") and d != folder("wij"))]   # ours, below
    files = list(base)
    wij = sorted(f for f, d in base if d == folder("wij"))
    for team, wijken in LOCAL_TEAMS.items():
        for f in wij:
            quarter = f.stem.rsplit("_", 1)[-1]
            files.append((_local_team_copy(f, staging / team / f"Lokaal_team_{team}_{quarter}.xlsx", wijken),
                          f"wij/{team}"))
    # Exact duplicates under other names: some in the same folder, all in their own folder.
    for i, (f, d) in enumerate(files[:16]):
        dup = staging / "dubbel" / f"kopie{i:02d}_{f.name}"
        dup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dup)
        files.append((dup, d))
    # A correction: Veilig Thuis 2024Q4 again, other figures (another seed).
    corr = generate_samples(staging / "correctie", quarters=["2024Q4"], seed=777)
    [vt] = [f for f in corr.files if corr.bron(f) == "veilig_thuis"]
    fixed = staging / "correctie" / "VeiligThuis_Groningen_2024-Q4_gecorrigeerd.xlsx"
    shutil.copyfile(vt, fixed)
    files.append((fixed, folder("veilig_thuis")))
    # A broken file, a file in the shared root, another organisation's figures.
    by_name = {c.name: c for c in CASES}
    broken = by_name["truncated_zip"]
    files.append((build_case(broken, staging / "kapot"), folder(broken.source)))
    root_file = staging / "gedeeld" / "WIJ_in_de_verkeerde_map.xlsx"
    root_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wij[0], root_file)
    files.append((root_file, "wij"))
    foreign = staging / "vreemd" / "Groningen_cijfers_bij_Hogeland.xlsx"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wij[-1], foreign)
    files.append((foreign, "wij/het-hogeland"))
    names = [f.name for f, _ in files]
    assert len(set(names)) == len(names), "every dropped file has its own name"
    return files


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, request):
    for reason in (postgres_reachable(), redis_reachable()):
        if reason:
            pytest.skip(f"{reason}; start it with `bash scripts/ensure-services.sh`")
    work = tmp_path_factory.mktemp("two-hosts")
    topo = Topology(work, workers=2, worker_concurrency=2, stable_seconds=3,
                    redis_db=int(__import__("os").environ.get("MONITOR_LOOPBACK_REDIS_DB", "12")))
    store_db = f"monitor_store_{topo.tag}"
    topo.extra_dbs.append(store_db)
    create_database(store_db)
    topo.env["MONITOR_STORE_URL"] = pg_uri(store_db).replace("postgresql://", "postgresql+psycopg://")
    for n, name in enumerate(WORKERS, start=1):
        host = work / f"host{n}"
        (host / "tmp").mkdir(parents=True)
        (host / "mnt").mkdir()
        (host / "mnt" / "data").symlink_to(topo.data, target_is_directory=True)
        topo.host_cwd[name] = host
        topo.host_env[name] = {"TMPDIR": str(host / "tmp"), "MONITOR_DATA_DIR": str(host / "mnt" / "data"),
                               "MONITOR_TEST_HOSTNAME": f"host{n}",
                               "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.production.topology.host_name"}
    try:
        topo.start()
        topo.wait_for_dags(["inbox_verwerking"])
        topo.airflow("dags", "unpause", "inbox_verwerking")
        wait_for(lambda: topo.query("SELECT 1 FROM dag_run WHERE dag_id = 'inbox_verwerking' AND state = 'success'"),
                 180, "a first successful (empty) inbox run", interval=1, on_timeout=topo.diagnose)
        yield topo
    except BaseException:
        print(topo.diagnose(60))
        raise
    finally:
        topo.stop()
        if not request.session.testsfailed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"two hosts: kept {work} (process logs in {topo.logs})")


def _receipts(data: Path) -> dict[tuple[str, str], list[dict]]:
    import json

    out: dict[tuple[str, str], list[dict]] = {}
    for p in (data / "outbox").rglob("*.ontvangstbewijs.json"):
        try:
            r = json.loads(p.read_text(encoding="utf-8"))
        except ValueError:                     # being written (atomic rename: should not happen)
            continue
        out.setdefault((p.parent.relative_to(data / "outbox").as_posix(), r["bestand"]), []).append(r)
    return out


def _open_store(topo: Topology):
    """The store the workers used (PostgreSQL, MONITOR_STORE_URL), through the store's own boundary."""
    from etl.core.config import DataDirs
    from etl.store.db import Store

    store = Store.open(DataDirs(topo.data, topo.env["MONITOR_STORE_URL"]))
    assert not store.sqlite
    return store


def test_sixty_files_two_hosts_one_killed(hosts, request):
    import os

    from etl.core.config import DataDirs
    from etl.core.naming import safe_name
    from etl.core.organisations import organisations

    topo = hosts
    dirs = DataDirs(topo.data).ensure()
    files = build_drop(topo.workdir / "staging")
    assert len(files) == 60
    t0 = time.time()
    dropped: dict[tuple[str, str], float] = {}
    for f, d in files:                          # a file share's way: temporary name, then rename
        target = dirs.inbox / d
        tmp = target / f".{f.name}.part"
        shutil.copyfile(f, tmp)
        os.replace(tmp, target / f.name)
        dropped[(d, f.name)] = time.time()
    t_dropped = time.time() - t0

    def busy() -> tuple | None:
        topo.assert_running()
        claimed = [p for p in dirs.processing.rglob("*__*") if p.is_file()]
        rows = topo.query("SELECT pid, hostname FROM task_instance WHERE dag_id = 'inbox_verwerking' "
                          "AND task_id = 'verwerk_bron' AND state = 'running' AND pid IS NOT NULL")
        for pid, host in rows:
            victim = topo.service_of(pid)
            if claimed and victim in WORKERS:
                return victim, host, len(claimed)
        return None

    victim, victim_host, in_flight = wait_for(busy, 240, "a worker processing a claimed file", interval=0.2,
                                              on_timeout=topo.diagnose)
    done_before = sum(len(v) for v in _receipts(topo.data).values())
    topo.kill(victim)
    t_kill = time.time()
    topo.spawn(victim)
    seen: dict[tuple[str, str], float] = {}

    def all_receipts() -> bool:
        topo.assert_running()
        now = time.time()
        for key in _receipts(topo.data):
            seen.setdefault(key, now)
        return set(dropped) <= set(seen)

    wait_for(all_receipts, 1200, "a receipt for each of the 60 files", interval=1,
             on_timeout=lambda: f"missing: {sorted(set(dropped) - set(seen))}\n{topo.diagnose()}")
    t_all = time.time() - t0
    latencies = sorted(seen[k] - dropped[k] for k in dropped)
    hostnames = {h for (h,) in topo.query(
        "SELECT DISTINCT hostname FROM task_instance WHERE dag_id = 'inbox_verwerking' AND task_id = 'verwerk_bron' "
        "AND state = 'success'")}
    report(request.config,
           f"\ntwo worker hosts, 60 files dropped in {t_dropped:.1f} s; kill -9 of {victim} ({victim_host}) "
           f"{t_kill - t0:.1f} s after the first drop, {in_flight} file(s) in processing/, {done_before} receipt(s) "
           f"before; all 60 receipts {t_all:.1f} s after the first drop; drop -> receipt p50 "
           f"{statistics.median(latencies):.1f} s, max {latencies[-1]:.1f} s; hosts that ran tasks: {sorted(hostnames)}; "
           f"load average per core {os.getloadavg()[0] / (os.cpu_count() or 1):.1f}")

    # --- one receipt each, in the folder the file was dropped in
    receipts = _receipts(topo.data)
    assert all(len(receipts[k]) == 1 for k in dropped), {k: len(receipts[k]) for k in dropped if len(receipts[k]) != 1}
    assert set(receipts) == set(dropped)
    # --- every file in exactly one place; inbox/ and processing/ empty
    assert not [p for p in dirs.inbox.rglob("*") if p.is_file()]
    assert not [p for p in dirs.processing.rglob("*") if p.is_file()]
    placed = [p for top in (dirs.archive, dirs.quarantine, dirs.restricted) for p in top.rglob("*") if p.is_file()]
    for d, name in dropped:
        here = [p for p in placed if p.name.endswith("__" + safe_name(name))]
        assert len(here) == 1, (d, name, here)
    assert len(placed) == 60
    # --- outcomes: what each kind of file must give
    status = {k: v[0]["status"] for k, v in receipts.items()}
    codes = {k: {p["code"] for p in v[0]["problemen"]} for k, v in receipts.items()}
    assert sum(s == "dubbel" for s in status.values()) == 16
    assert status[("wij", "WIJ_in_de_verkeerde_map.xlsx")] == "afgekeurd"
    assert "organisatie_onbekend" in codes[("wij", "WIJ_in_de_verkeerde_map.xlsx")]
    assert "andere_organisatie" in codes[("wij/het-hogeland", "Groningen_cijfers_bij_Hogeland.xlsx")]
    assert status[(folder("veilig_thuis"), "vt_half.xlsx")] == "afgekeurd"
    assert status[(folder("veilig_thuis"), "VeiligThuis_Groningen_2024-Q4_gecorrigeerd.xlsx")] == "geaccepteerd"
    assert sum(s == "geaccepteerd" for s in status.values()) == 24 + 16 + 1

    with _open_store(topo) as store:
        links = store.quarter_links()
        ds = store.dataset()
        audit = store.audit()
        deliveries = store.delivery_summaries()
        claims = store.rows("SELECT folder, inbox_name, door, settled_at, levering_id FROM claims")
    # --- one current delivery per (source, organisation, quarter), and the expected ones
    current = [(r["bron"], r["organisatie"], r["periode"]) for r in links if r["actueel"]]
    assert len(current) == len(set(current))
    expected = {(o.bron, o.code, q) for o in organisations() for q in QUARTERS
                if o.bron != "wij" or o.code in {"wij-groningen", *LOCAL_TEAMS}}
    assert set(current) == expected
    superseded = [r for r in links if not r["actueel"]]
    assert [(r["bron"], r["periode"]) for r in superseded] == [("veilig_thuis", "2024Q4")]
    # --- no dataset value twice
    key = ["periode", "bron", "organisatie", "gebied_type", "gebied_code", "indicator"]
    assert not ds.duplicated(key).any()
    assert set(ds["levering_id"]) <= {d["levering_id"] for d in deliveries if d["status"] == "geaccepteerd"}
    # --- the audit log holds one outcome per file: accepted/rejected per delivery, 'dubbel' per duplicate
    outcome_rows = audit[audit["actie"].isin(["geaccepteerd", "afgekeurd", "dubbel"])]
    assert len(outcome_rows) == 60 and outcome_rows["levering_id"].is_unique
    assert len(deliveries) == 60 - 16
    assert set(outcome_rows.loc[outcome_rows["actie"] != "dubbel", "levering_id"]) == {d["levering_id"] for d in deliveries}
    assert (audit["actie"] == "vervangen").sum() == 1
    # --- every file claimed once (one claim row, though two hosts saw it), every claim ended
    assert sorted((c["folder"], c["inbox_name"]) for c in claims) == sorted(dropped)
    assert all(c["settled_at"] for c in claims)
    assert {c["levering_id"] for c in claims if c["levering_id"]} <= set(outcome_rows["levering_id"])
