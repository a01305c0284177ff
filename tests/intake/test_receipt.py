"""The Dutch receipt reads as a person would say it."""

from etl.core.problems import error, warning
from etl.intake.receipt import Receipt, render_text
from etl.intake.validate import _shown


def _receipt(problems, status="afgekeurd"):
    return Receipt(status=status, bron="veilig_thuis", bron_naam="Veilig Thuis Groningen", bestand="vt.xlsx",
                   ontvangen_op="2024-10-05T06:30:00+00:00", levering_id="veilig_thuis-20241005-063000-abcdef12",
                   sha256="ab" * 32, periodes=["2024Q3"], aantallen={"Meldingen": 10}, problemen=problems)


def test_rejection_names_sheet_columns_rows_and_the_fix():
    text = render_text(_receipt([
        error("groter_dan_toegestaan", "'binnen_5_werkdagen' is groter dan 'veiligheidsbeoordelingen'.", "Controleer beide cellen.",
              sheet="Doorlooptijden", column="binnen_5_werkdagen, veiligheidsbeoordelingen", rows=(4,)),
        error("negatief", "'adviezen' is negatief.", "Een aantal is 0 of meer.", sheet="Meldingen",
              column="adviezen", rows=(5, 6, 7, 12), examples=(_shown(-3.0),)),
    ]))
    assert "RESULTAAT: NIET AANGENOMEN" in text
    assert "Tabblad 'Doorlooptijden', kolommen 'binnen_5_werkdagen' en 'veiligheidsbeoordelingen', regel 4" in text
    assert "Tabblad 'Meldingen', kolom 'adviezen', regels 5-7 en 12" in text
    assert "'-3'" in text and "-3.0" not in text
    assert "WAT MOET U AANPASSEN (2 punten)" in text
    assert "5 oktober 2024, 08:30 uur" in text          # Amsterdam time, summer


def test_accepted_with_remarks_says_it_was_accepted():
    text = render_text(_receipt([warning("kolom_onbekend", "Deze kolommen kennen we niet: opmerking.", sheet="Meldingen")],
                                status="geaccepteerd"))
    assert "RESULTAAT: AANGENOMEN" in text and "WAT MOET U AANPASSEN" not in text
    assert "OPMERKING — het bestand is wel aangenomen" in text           # one remark: singular


# --- the JSON twin against its committed schema (docs/schemas/ontvangstbewijs.schema.json) ----------

def receipt_validator():
    """A validator for the committed schema; e-mail and date-time formats are checked too."""
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "schemas" / "ontvangstbewijs.schema.json")
                        .read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_every_receipt_of_the_sample_ingest_matches_the_schema(ingested_samples):
    import json

    dirs, outcomes = ingested_samples
    validator = receipt_validator()
    paths = sorted(dirs.outbox.rglob("*.ontvangstbewijs.json"))
    assert len(paths) == len(outcomes) == 24
    for path in paths:
        errors = sorted(validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))), key=str)
        assert not errors, (path.name, [e.message for e in errors[:3]])


def test_the_schema_refuses_english_keys_and_unknown_status():
    r = _receipt([error("negatief", "'x' is negatief.", "Vul het juiste aantal in.", sheet="Meldingen", cells=("D4",), rows=(4,))])
    good = r.to_json()
    validator = receipt_validator()
    assert not list(validator.iter_errors(good))
    bad = {**good, "validatie": {"evaluated": 1, "passed": 1, "failed": []}}
    assert list(validator.iter_errors(bad))
    bad = {**good, "status": "accepted"}
    assert list(validator.iter_errors(bad))
    bad = {**good, "problemen": [{**good["problemen"][0], "cellen": ["row 4"]}]}
    assert list(validator.iter_errors(bad))
