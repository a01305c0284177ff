"""The whole intake on the sample deliveries: the dataset equals what a person computes from the files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etl.core.quarters import days_in_quarter, quarter_end, quarter_start
from tests.conftest import folder


@pytest.fixture(scope="module")
def dataset(ingested_samples):
    dirs, _ = ingested_samples
    from etl.store.dataset import load

    return load(None, dirs)


def _value(ds, periode, bron, gtype, code, ind):
    hit = ds[(ds.periode == periode) & (ds.bron == bron) & (ds.gebied_type == gtype)
             & (ds.gebied_code == code) & (ds.indicator == ind)]
    assert len(hit) == 1, (periode, bron, gtype, code, ind, len(hit))
    return hit.iloc[0]


def test_every_sample_file_accepted(ingested_samples, sample_set):
    dirs, outcomes = ingested_samples
    assert len(outcomes) == len(sample_set.files) == 24
    assert {o.status for o in outcomes} == {"geaccepteerd"}, [(o.bestand, o.problem_codes) for o in outcomes if o.status != "geaccepteerd"]
    assert not any((dirs.inbox / folder(b)).iterdir().__next__ if False else list((dirs.inbox / folder(b)).iterdir()) for b in ("veilig_thuis", "wij", "vrouwenopvang"))
    assert len(list(dirs.outbox.rglob("*.ontvangstbewijs.json"))) == 24


def test_veilig_thuis_counts_and_region_totals(dataset, sample_set):
    truth = sample_set.truth["veilig_thuis/Meldingen"]
    for periode, q in truth.groupby("periode"):
        for row in q.itertuples():
            got = _value(dataset, periode, "veilig_thuis", "gemeente", row.gemeente, "meldingen_totaal")
            assert got.waarde == row.meldingen_totaal and got.status == "ok"
            share = _value(dataset, periode, "veilig_thuis", "gemeente", row.gemeente, "hermelding_aandeel")
            assert share.waarde == pytest.approx(row.hermeldingen / row.meldingen_totaal)
        region = _value(dataset, periode, "veilig_thuis", "regio", "regio", "meldingen_totaal")
        assert region.waarde == q.meldingen_totaal.sum()


def test_partner_suppressed_cell_is_missing_and_flagged(dataset, sample_set):
    truth = sample_set.truth["veilig_thuis/Meldingen"]
    supp = truth[truth.meldingen_ouderenmishandeling.isna()]
    assert len(supp) == 8
    for row in supp.itertuples():
        got = _value(dataset, row.periode, "veilig_thuis", "gemeente", row.gemeente, "meldingen_ouderenmishandeling")
        assert pd.isna(got.waarde) and got.status == "suppressed_by_partner"
        region = _value(dataset, row.periode, "veilig_thuis", "regio", "regio", "meldingen_ouderenmishandeling")
        assert pd.isna(region.waarde) and region.status == "suppressed_by_partner"


def test_wij_derived_indicators(dataset, sample_set):
    cases = sample_set.truth["wij/Casussen"]
    for periode, q in cases.groupby("periode"):
        qs, qe = quarter_start(periode), quarter_end(periode)
        for wijk, g in q.groupby("wijk"):
            in_quarter = [d is not None and qs <= d <= qe for d in g.einddatum]
            closed = g[in_quarter]
            new = g[[qs <= d <= qe for d in g.startdatum]]
            assert _value(dataset, periode, "wij", "wijk", wijk, "casussen_actief").waarde == len(g)
            assert _value(dataset, periode, "wij", "wijk", wijk, "casussen_nieuw").waarde == len(new)
            assert _value(dataset, periode, "wij", "wijk", wijk, "casussen_afgesloten").waarde == len(closed)
            med = _value(dataset, periode, "wij", "wijk", wijk, "duur_mediaan_dagen")
            if len(closed):
                days = [(e - s).days for s, e in zip(closed.startdatum, closed.einddatum, strict=True)]
                assert med.waarde == pytest.approx(float(np.median(days)))
                share = _value(dataset, periode, "wij", "wijk", wijk, "nazorg_aandeel")
                assert share.waarde == pytest.approx(closed.nazorg.mean())
            else:
                assert med.status == "missing"
            assert _value(dataset, periode, "wij", "wijk", wijk, "kinderen_betrokken").waarde == g.aantal_kinderen.sum()
        city = _value(dataset, periode, "wij", "gemeente", "GM0014", "casussen_actief")
        assert city.waarde == len(q)


def test_occupancy(dataset, sample_set):
    cap = sample_set.truth["vrouwenopvang/Capaciteit"]
    for row in cap.itertuples():
        got = _value(dataset, row.periode, "vrouwenopvang", "regio", "regio", "bezettingsgraad")
        assert got.waarde == pytest.approx(row.bezette_plaatsdagen / (row.plaatsen_crisisopvang * days_in_quarter(row.periode)))
        assert 0 <= got.waarde <= 1


def test_dataset_cli_prints_contract_columns(ingested_samples, monkeypatch, capsys):
    dirs, _ = ingested_samples
    monkeypatch.setenv("MONITOR_DATA_DIR", str(dirs.root))
    from etl.tools.cli import main

    assert main(["dataset", "--quarter", "2024Q4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "periode,bron,gebied_type,gebied_code,indicator,waarde,status,levering_id"
    assert len(out) > 100
    assert all(line.startswith("2024Q4,") for line in out[1:])
