'''An existing SQLite store of the version before organisations opens with the new Store and is migrated.

The fixture is that version's own schema text (``git show f1fdfc3~1:etl/store/db.py``, copied
below unchanged), written with plain ``sqlite3`` as that version wrote it; deliveries are put
in with its columns. Opening it with today's ``Store`` must give every delivery its source's
first organisation (``include/organisaties.yaml``), read the same dataset, log one
``migratie`` row, and change nothing when opened again.
'''

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from etl.core.config import DataDirs
from etl.core.organisations import original
from etl.store.db import Store

PREVIOUS_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    levering_id   TEXT PRIMARY KEY,
    bron          TEXT NOT NULL,
    bestandsnaam  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    ontvangen_op  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('geaccepteerd', 'afgekeurd')),
    persoonsgegevens INTEGER NOT NULL DEFAULT 0,
    periodes      TEXT NOT NULL DEFAULT '[]',
    problemen     TEXT NOT NULL DEFAULT '[]',
    validatie     TEXT NOT NULL DEFAULT '{}',
    opgeslagen_als TEXT,
    afgerond      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_sha ON deliveries (bron, sha256);
CREATE TABLE IF NOT EXISTS delivery_quarters (
    levering_id    TEXT NOT NULL REFERENCES deliveries (levering_id),
    bron           TEXT NOT NULL,
    periode        TEXT NOT NULL,
    actueel        INTEGER NOT NULL,
    vervangen_door TEXT,
    PRIMARY KEY (levering_id, periode)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_current_delivery
    ON delivery_quarters (bron, periode) WHERE actueel = 1;
CREATE TABLE IF NOT EXISTS dataset_values (
    levering_id  TEXT NOT NULL REFERENCES deliveries (levering_id),
    periode      TEXT NOT NULL,
    bron         TEXT NOT NULL,
    gebied_type  TEXT NOT NULL,
    gebied_code  TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    waarde       REAL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'suppressed_by_partner', 'missing')),
    PRIMARY KEY (levering_id, periode, gebied_type, gebied_code, indicator)
);
CREATE INDEX IF NOT EXISTS values_periode ON dataset_values (periode, bron);
-- Where each value came from (etl.intake.provenance, docs/provenance.md). Its own table,
-- so that stores made before it get it on open (CREATE ... IF NOT EXISTS is the
-- migration; their older values simply have no record). Never holds a cell's content.
CREATE TABLE IF NOT EXISTS value_provenance (
    levering_id  TEXT NOT NULL,
    periode      TEXT NOT NULL,
    gebied_type  TEXT NOT NULL,
    gebied_code  TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    soort        TEXT NOT NULL CHECK (soort IN ('cel', 'regels', 'som', 'verhouding', 'onbekend', 'geen_regel')),
    tabblad      TEXT,
    cel          TEXT,
    regel        TEXT,
    rijen        TEXT,
    details      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (levering_id, periode, gebied_type, gebied_code, indicator),
    FOREIGN KEY (levering_id, periode, gebied_type, gebied_code, indicator)
        REFERENCES dataset_values (levering_id, periode, gebied_type, gebied_code, indicator)
);
CREATE TABLE IF NOT EXISTS audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tijdstip     TEXT NOT NULL,
    actie        TEXT NOT NULL,
    bron         TEXT,
    levering_id  TEXT,
    sha256       TEXT,
    bestandsnaam TEXT,
    door         TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}'
);
-- Dead-letter counting: one row per claimed file (its name in processing/<bron>/) whose
-- analysis was started and has not yet been recorded as a delivery. A row whose attempts
-- reach the limit means the processing died that often; the inbox then stops retrying.
CREATE TABLE IF NOT EXISTS claim_attempts (
    bron         TEXT NOT NULL,
    claimed_name TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_pid     INTEGER,
    last_failure TEXT,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    PRIMARY KEY (bron, claimed_name)
);
"""

#: (levering_id, bron, status, periodes, current per quarter, superseded by)
DELIVERIES = [
    ("veilig_thuis-20241005-100000-aaaaaaaa", "veilig_thuis", "geaccepteerd", ["2024Q3"], 0,
     "veilig_thuis-20241012-100000-bbbbbbbb"),
    ("veilig_thuis-20241012-100000-bbbbbbbb", "veilig_thuis", "geaccepteerd", ["2024Q3"], 1, None),
    ("wij-20241006-090000-cccccccc", "wij", "geaccepteerd", ["2024Q2", "2024Q3"], 1, None),
    ("vrouwenopvang-20241007-080000-dddddddd", "vrouwenopvang", "geaccepteerd", ["2024Q3"], 1, None),
    ("wij-20241008-090000-eeeeeeee", "wij", "afgekeurd", ["2024Q3"], None, None),
]
OLD_DATASET = """SELECT v.periode, v.bron, v.gebied_type, v.gebied_code, v.indicator, v.waarde, v.status, v.levering_id
                 FROM dataset_values v JOIN delivery_quarters q
                   ON q.levering_id = v.levering_id AND q.periode = v.periode AND q.actueel = 1
                 ORDER BY v.periode, v.bron, v.gebied_type, v.gebied_code, v.indicator"""


def _previous_version_store(path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(PREVIOUS_SCHEMA)
    db.execute("BEGIN")
    for n, (lid, bron, status, periodes, actueel, door) in enumerate(DELIVERIES):
        db.execute("INSERT INTO deliveries (levering_id, bron, bestandsnaam, sha256, ontvangen_op, status, periodes, "
                   "afgerond, opgeslagen_als) VALUES (?,?,?,?,?,?,?,1,?)",
                   (lid, bron, f"{bron}_{n}.xlsx", f"{n:064d}", f"2024-10-0{n + 5}T10:00:00+00:00", status,
                    json.dumps(periodes), f"archive/{bron}/{lid}__{bron}_{n}.xlsx"))
        if status != "geaccepteerd":
            continue
        for periode in periodes:
            db.execute("INSERT INTO delivery_quarters VALUES (?,?,?,?,?)", (lid, bron, periode, actueel, door))
            for i, code in enumerate(("GM0014", "GM1966", "GM1895")):
                db.execute("INSERT INTO dataset_values VALUES (?,?,?,?,?,?,?,?)",
                           (lid, periode, bron, "gemeente", code, "meldingen_totaal", 10.0 * n + i + 0.25, "ok"))
            db.execute("INSERT INTO dataset_values VALUES (?,?,?,?,?,?,?,?)",
                       (lid, periode, bron, "regio", "regio", "meldingen_totaal", None, "suppressed_by_partner"))
            db.execute("INSERT INTO value_provenance (levering_id, periode, gebied_type, gebied_code, indicator, soort, "
                       "tabblad, cel) VALUES (?,?,?,?,?,?,?,?)",
                       (lid, periode, "gemeente", "GM0014", "meldingen_totaal", "cel", "Meldingen", "D4"))
    db.execute("INSERT INTO audit_log (tijdstip, actie, bron, door) VALUES ('2024-10-05T10:00:00+00:00', "
               "'geaccepteerd', 'veilig_thuis', 'test')")
    db.execute("COMMIT")
    db.close()


def _dump(path) -> str:
    db = sqlite3.connect(path)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


def test_a_store_of_the_previous_version_is_migrated_once(tmp_path):
    dirs = DataDirs(tmp_path / "data")
    dirs.store.mkdir(parents=True)
    _previous_version_store(dirs.db_path)
    before = pd.read_sql_query(OLD_DATASET, sqlite3.connect(dirs.db_path))
    assert len(before) == 4 * 4                          # four current (delivery, quarter) pairs, four rows each

    with Store.open(dirs) as store:
        deliveries = {d["levering_id"]: d for d in store.delivery_summaries()}
        links = store.quarter_links()
        after = store.dataset()
        audit = store.audit()
        assert store.current_organisations("2024Q3") == {
            "veilig_thuis": [original("veilig_thuis").code], "vrouwenopvang": [original("vrouwenopvang").code],
            "wij": [original("wij").code]}
    # Every delivery, and every (delivery, quarter) link, belongs to its source's first organisation.
    assert {lid: d["organisatie"] for lid, d in deliveries.items()} == {
        lid: original(bron).code for lid, bron, *_ in DELIVERIES}
    assert original("wij").code == "wij-groningen"
    assert all(link["organisatie"] == original(link["bron"]).code for link in links) and len(links) == 5
    # The dataset reads the same (plus the organisation column).
    pd.testing.assert_frame_equal(after.drop(columns="organisatie"), before, check_dtype=False)
    assert (after["organisatie"] == after["bron"].map(lambda b: original(b).code)).all()
    # One migration row, after the old audit row.
    assert audit["actie"].tolist() == ["geaccepteerd", "migratie"]
    assert json.loads(audit["details"].iloc[1]) == {"naar": "organisaties", "tabellen": ["deliveries", "delivery_quarters"]}
    # The old per-(source, quarter) index is gone, the per-organisation one is there.
    db = sqlite3.connect(dirs.db_path)
    indexes = {name: sql for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    db.close()
    assert "one_current_delivery" not in indexes
    assert "WHERE actueel = 1" in indexes["one_current_delivery_per_organisation"]
    assert "organisatie" in indexes["deliveries_sha"]

    # Opening again changes nothing: not a row, not an index, no second migratie row.
    migrated = _dump(dirs.db_path)
    with Store.open(dirs) as store:
        assert store.audit()["actie"].tolist() == ["geaccepteerd", "migratie"]
    assert _dump(dirs.db_path) == migrated

    # And the migrated store works as a new one: a correction supersedes its own organisation's quarter.
    from tests.store.test_store_keys import _delivery, _values

    with Store.open(dirs) as store:
        replaced = store.record(_delivery("wij-new", "wij-groningen", "f" * 64), _values("GM0014", 3))
        assert replaced == [("2024Q3", "wij-20241006-090000-cccccccc")]
        assert store.current_organisations("2024Q2") == {"wij": ["wij-groningen"]}
