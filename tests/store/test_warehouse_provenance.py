"""The warehouse carries each value's provenance (PostgreSQL on the machine; skipped without it)."""

from __future__ import annotations

import os

import psycopg
import pytest

from etl.store.db import Store
from etl.store.provenance import quarter_records
from etl.store.warehouse import TABLE, load_quarter
from tests.production.conftest import create_database, drop_database, postgres_reachable

pytestmark = pytest.mark.production


@pytest.fixture
def provenance_db():
    reason = postgres_reachable()
    if reason:
        pytest.skip(reason)
    name = f"provenance_wh_{os.getpid()}"
    uri = create_database(name)
    yield uri
    drop_database(name)


def test_warehouse_rows_carry_their_provenance(provenance_db, ingested_samples):
    dirs, _ = ingested_samples
    with psycopg.connect(provenance_db, autocommit=True) as c:   # a warehouse made before provenance existed
        c.execute("CREATE SCHEMA monitor")
        c.execute(f"CREATE TABLE {TABLE} (periode text NOT NULL, bron text NOT NULL, gebied_type text NOT NULL, "
                  "gebied_code text NOT NULL, indicator text NOT NULL, waarde double precision, status text NOT NULL, "
                  "levering_id text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(), "
                  "PRIMARY KEY (periode, bron, gebied_type, gebied_code, indicator))")
    first = load_quarter("2024Q4", provenance_db, dirs)
    assert first.rijen > 300
    with Store.open(dirs) as store:
        expected = quarter_records(store, "2024Q4")
    with psycopg.connect(provenance_db) as c:
        rows = c.execute(f"SELECT bron, gebied_type, gebied_code, indicator, herkomst FROM {TABLE} "
                         "WHERE periode = '2024Q4'").fetchall()
        cell = c.execute(f"SELECT herkomst->>'tabblad', herkomst->>'cel', herkomst->>'bestandsnaam' FROM {TABLE} "
                         "WHERE periode = '2024Q4' AND gebied_code = 'GM0014' AND indicator = 'meldingen_totaal'"
                         ).fetchone()
    assert len(rows) == first.rijen
    totals = 0
    for bron, gtype, code, ind, herkomst in rows:
        if (bron, gtype, code, ind) not in expected:
            # A region total over organisations (etl.store.regions) names what it adds up.
            assert herkomst["soort"] == "som_organisaties" and herkomst["leveringen"], (bron, gtype, code, ind)
            assert "organisaties" in herkomst["toelichting"]
            totals += 1
            continue
        name, rec = expected[(bron, gtype, code, ind)]
        assert herkomst == {"bestandsnaam": name, **rec}
    assert 0 < totals < len(rows) / 4
    assert cell == ("Meldingen", "D4", "VeiligThuis_Groningen_2024-Q4.xlsx")
    again = load_quarter("2024Q4", provenance_db, dirs)
    assert (again.geschreven, again.verwijderd) == (0, 0)     # provenance unchanged: nothing rewritten
