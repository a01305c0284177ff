"""``python -m etl herkomst`` and the Data sheet's ``herkomst`` column on the sample deliveries."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from etl.core.catalogue import load_catalogue
from etl.core.sources import load_sources
from etl.intake.provenance import parse_rows
from etl.report.protect import protect_quarter
from etl.store.dataset import load
from etl.store.db import Store
from etl.store.provenance import deliveries_with_values
from etl.tools.cli import main

Q = "2024Q4"


@pytest.fixture
def env(ingested_samples, monkeypatch):
    dirs, _ = ingested_samples
    monkeypatch.setenv("MONITOR_DATA_DIR", str(dirs.root))
    return dirs


def _archived(dirs) -> dict[str, object]:
    """levering_id -> archived file path."""
    with Store(dirs.db_path) as store:
        return {d["levering_id"]: dirs.root / d["opgeslagen_als"] for d in deliveries_with_values(store)}


def _json(capsys, *args: str) -> dict:
    assert main(["herkomst", "--quarter", Q, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_count_traces_to_its_cell(env, capsys):
    node = _json(capsys, "--indicator", "meldingen_totaal", "--gebied", "GM1895")
    rec = node["herkomst"]
    assert rec["soort"] == "cel" and rec["tabblad"] == "Meldingen"
    ws = load_workbook(_archived(env)[node["levering_id"]], data_only=True)[rec["tabblad"]]
    assert float(ws[rec["cel"]].value) == node["waarde"] > 4
    assert node["levering"]["bestandsnaam"] == "VeiligThuis_Groningen_2024-Q4.xlsx"
    assert main(["herkomst", "--quarter", Q, "--indicator", "meldingen_totaal", "--gebied", "Oldambt"]) == 0
    text = capsys.readouterr().out
    assert "Oldambt (GM1895)" in text and f"cel {rec['cel']}" in text and "VeiligThuis_Groningen_2024-Q4.xlsx" in text
    assert f"Waarde: {int(node['waarde'])}" in text


def test_derived_value_lists_rows_that_reproduce_it(env, capsys):
    node = _json(capsys, "--indicator", "casussen_nieuw", "--gebied", "Vinkhuizen")
    rec = node["herkomst"]
    assert rec["soort"] == "regels" and rec["tabblad"] == "Casussen"
    assert rec["regel"] == f"periode = {Q}, wijk = Vinkhuizen, startdatum in {Q}, aantal regels"
    rows = parse_rows(rec["rijen"])
    assert len(rows) == rec["aantal_rijen"] == node["waarde"]
    ws = load_workbook(_archived(env)[node["levering_id"]], data_only=True)["Casussen"]
    header = [c.value for c in ws[3]]
    wijk, start = header.index("wijk"), header.index("startdatum")
    for r in rows:                                     # each recorded row is a Vinkhuizen case started in Q4
        cells = [c.value for c in ws[r]]
        assert cells[wijk] == "Vinkhuizen"
        assert str(cells[start])[:7] in ("2024-10", "2024-11", "2024-12"), cells[start]
    assert main(["herkomst", "--quarter", Q, "--indicator", "casussen_nieuw", "--gebied", "Vinkhuizen"]) == 0
    text = capsys.readouterr().out
    assert f"{len(rows)} regels" in text and f"Excel-regels: {rec['rijen']}" in text


def test_region_total_lists_its_parts(env, capsys):
    node = _json(capsys, "--indicator", "meldingen_totaal", "--gebied", "regio", "--intern")
    assert node["herkomst"]["soort"] == "som"
    parts = node["onderdelen"]
    assert len(parts) == 10 and all(p["herkomst"]["soort"] == "cel" for p in parts)
    assert sum(p["waarde"] for p in parts) == node["waarde"]
    assert {p["gebied_code"] for p in parts} == {k[1] for k in node["herkomst"]["delen"]}


def test_hidden_figure_shows_no_value_cell_or_rows(env, capsys):
    view = protect_quarter(load([Q], env), Q, load_catalogue())
    hidden = sorted(k for k, c in view.cells.items() if c.hidden and k[1] != "regio")
    assert hidden
    for bron, _gtype, code, ind in hidden[:6]:
        gebied = code
        node = _json(capsys, "--indicator", ind, "--gebied", gebied, "--bron", bron)
        assert node["waarde"] is None and node["afgeschermd"]
        assert set(node["herkomst"]) <= {"soort", "tabblad", "afgeschermd"}
        assert "onderdelen" not in node
        intern = _json(capsys, "--indicator", ind, "--gebied", gebied, "--bron", bron, "--intern")
        assert "afgeschermd" not in intern and intern["herkomst"]["soort"] == node["herkomst"]["soort"]
        assert set(intern["herkomst"]) > set(node["herkomst"]) - {"afgeschermd"}


def test_unknown_figure_is_a_dutch_error(env, capsys):
    assert main(["herkomst", "--quarter", Q, "--indicator", "bestaat_niet", "--gebied", "regio"]) == 2
    assert "geen waarde voor bestaat_niet" in capsys.readouterr().err
    assert main(["herkomst", "--quarter", Q, "--indicator", "meldingen_totaal", "--gebied", "Assen"]) == 2
    assert "gebied 'Assen' onbekend" in capsys.readouterr().err


def test_data_sheet_has_herkomst_column(env, tmp_path):
    from etl.report import build_workbook
    from tests.report.test_report import copy_store

    path = build_workbook(Q, copy_store(env, tmp_path / "data"))   # the shared ingest stays read-only
    ws = load_workbook(path)["Data"]
    rows = list(ws.iter_rows(values_only=True))
    header_idx = next(i for i, r in enumerate(rows) if r and r[0] == "Kwartaal")
    header = rows[header_idx]
    col = header.index("Herkomst")
    assert col == len(header) - 1          # added at the end: the other columns keep their place
    h = {name: i for i, name in enumerate(header)}
    bron_of = {s.naam: s.key for s in load_sources().values()}
    type_of = {"gemeente": "gemeente", "regio": "regio", "wijk": "wijk", "groep wijken": "wijkgroep"}

    def key_of(r):
        bron, gtype = bron_of[r[h["Bron"]]], type_of[r[h["Soort gebied"]]]
        code = r[h["Gebiedscode"]] if gtype == "gemeente" else ("regio" if gtype == "regio" else r[h["Gebied"]])
        return bron, gtype, code, r[h["Sleutel van de indicator"]]

    data = [r for r in rows[header_idx + 1:] if r[0] == Q]
    by = {(k[0], k[2], k[3]): r for r in data for k in [key_of(r)]}
    view = protect_quarter(load([Q], env), Q, load_catalogue())
    oldambt = by[("veilig_thuis", "GM1895", "meldingen_totaal")][col]
    assert oldambt.startswith("VeiligThuis_Groningen_2024-Q4.xlsx › Meldingen!D")
    region = by[("veilig_thuis", "regio", "meldingen_totaal")][col]
    assert region == "VeiligThuis_Groningen_2024-Q4.xlsx › som van 10 waarden: Meldingen!D4:D13"
    assert "regels, periode = 2024Q4, wijk = Vinkhuizen" in by[("wij", "Vinkhuizen", "casussen_actief")][col]
    n_hidden = 0
    for r in data:
        cell = view.cells.get(key_of(r))
        if cell is not None and cell.hidden:
            n_hidden += 1
            assert r[col].endswith("› afgeschermd cijfer: cel en regels niet getoond"), r
            assert "!" not in r[col] and "regels," not in r[col]
    assert n_hidden > 0
