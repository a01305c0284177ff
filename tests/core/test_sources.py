"""The source descriptions match the data contract, and everything generated from them is current."""

from __future__ import annotations

import json

import pytest

from etl.core.sources import fold, load_sources
from etl.intake.validate import suite_dict, suite_path
from etl.tools.docs import DOC_PATH, render

CONTRACT = {
    ("veilig_thuis", "Meldingen"): "periode gemeente adviezen meldingen_totaal meldingen_kindermishandeling "
    "meldingen_partnergeweld meldingen_ouderenmishandeling meldingen_overig melder_politie melder_professional "
    "melder_burger unieke_casussen hermeldingen tijdelijke_huisverboden icm_trajecten_gestart",
    ("veilig_thuis", "Doorlooptijden"): "periode veiligheidsbeoordelingen binnen_5_werkdagen wachtlijst_einde_kwartaal",
    ("wij", "Casussen"): "periode casus_id wijk startdatum einddatum vorm_geweld doorverwezen_veilig_thuis nazorg aantal_kinderen",
    ("wij", "Groepsaanbod"): "periode wijk aanbod groepen deelnemers",
    ("vrouwenopvang", "Opvang"): "periode gemeente aanmeldingen opnames_volwassenen opnames_kinderen ambulante_trajecten "
    "uitstroom_zelfstandig uitstroom_terug_naar_huis uitstroom_andere_opvang uitstroom_onbekend",
    ("vrouwenopvang", "Capaciteit"): "periode plaatsen_crisisopvang bezette_plaatsdagen wachtlijst_einde_kwartaal gemiddelde_verblijfsduur_dagen",
    ("vrouwenopvang", "Steunpunt"): "periode inloopcontacten telefonische_contacten chatcontacten",
}


@pytest.mark.parametrize("key", sorted(CONTRACT))
def test_columns_are_the_contracts(key):
    source, sheet = key
    assert [c.name for c in load_sources()[source].sheet(sheet).columns] == CONTRACT[key].split()


def test_required_sheets_are_the_contracts():
    required = {(s.key, sh.name) for s in load_sources().values() for sh in s.sheets if sh.required}
    assert required == {("veilig_thuis", "Meldingen"), ("wij", "Casussen"), ("vrouwenopvang", "Opvang"),
                        ("vrouwenopvang", "Capaciteit")}


def test_headers_fold_unambiguously():
    for s in load_sources().values():
        for sheet in s.sheets:
            seen: dict[str, str] = {}
            for c in sheet.columns:
                for f in c.folded_names:
                    assert seen.setdefault(f, c.name) == c.name, (sheet.name, f)


def test_fold_ignores_case_spacing_and_punctuation():
    assert fold("  Aantal_Meldingen: ") == fold("aantal meldingen") == "aantal meldingen"
    assert fold("Vorm van geweld") != fold("vorm_geweld")


@pytest.mark.parametrize("source", ["veilig_thuis", "wij", "vrouwenopvang"])
def test_committed_suite_is_generated_from_the_description(source):
    committed = json.loads(suite_path(source).read_text(encoding="utf-8"))
    assert committed == suite_dict(load_sources()[source]), "run `python -m etl suites`"


def test_partner_format_doc_is_current():
    assert DOC_PATH.read_text(encoding="utf-8") == render(load_sources()), "run `python -m etl suites`"


def test_every_contract_rule_is_an_expectation():
    wij = json.loads(suite_path("veilig_thuis").read_text(encoding="utf-8"))["expectations"]
    types = {e["type"] for e in wij}
    assert {"expect_multicolumn_sum_to_equal", "expect_column_pair_values_a_to_be_greater_than_b",
            "expect_compound_columns_to_be_unique", "expect_column_values_to_be_in_set"} <= types
    sums = [e for e in wij if e["type"] == "expect_multicolumn_sum_to_equal"]
    assert len(sums) == 2
