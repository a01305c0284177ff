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
    assert "OPMERKINGEN (1) — het bestand is wel aangenomen" in text
