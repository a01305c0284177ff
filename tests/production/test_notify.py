"""Notifications through Airflow's SMTP provider, received by a real SMTP server on loopback.

The files are the fixture catalogue's (tests/fixtures/catalogue.py), processed by the
real inbox; the mails are sent by ``SmtpHook`` with ``smtp_default`` and
``monitor_contacts`` taken from environment variables, as in production. The checks
are on what arrives: recipients, subject, Dutch body, attachment names, and that no
planted personal-data value is anywhere in any mail.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil

import pytest

from etl.core.config import DataDirs
from etl.notify.mail import (
    Contacts,
    deadline,
    notify_late_deliveries,
    notify_rejections,
    notify_report_ready,
)
from tests.conftest import folder
from tests.fixtures.catalogue import CASES, PLANTED, build_case
from tests.production.conftest import CONTACTS

DROPPED = ["sum_of_kinds_wrong", "pii_header_bsn", "pii_email_value", "baseline_vrouwenopvang"]
VT_ADDR = CONTACTS["bronnen"]["veilig_thuis"][0]
WIJ_ADDRS = CONTACTS["bronnen"]["wij"]
VO_ADDR = CONTACTS["bronnen"]["vrouwenopvang"][0]
BELEID, DATATEAM = CONTACTS["beleid"][0], CONTACTS["datateam"][0]


def as_dag_outcomes(outcomes) -> list[dict]:
    """What the inbox task hands to meld_afkeuringen (dags/inbox_verwerking.py)."""
    return [{"bron": o.bron, "bestand": o.bestand, "status": o.status, "levering_id": o.levering_id,
             "ontvangstbewijs": str(o.receipt), "fouten": list(o.problem_codes)} for o in outcomes]


@pytest.fixture(scope="module")
def processed_catalogue(tmp_path_factory):
    """One rejected file, two personal-data refusals and one accepted file, through the real inbox."""
    from etl.intake.inbox import process_inbox

    dirs = DataDirs(tmp_path_factory.mktemp("catalogue") / "data").ensure()
    by_name = {c.name: c for c in CASES}
    for name in DROPPED:
        case = by_name[name]
        path = build_case(case, dirs.inbox / folder(case.source))
        os.utime(path, (0, 0))
    outcomes = process_inbox(dirs)
    assert sorted(o.status for o in outcomes) == ["afgekeurd", "afgekeurd", "afgekeurd", "geaccepteerd"]
    return dirs, as_dag_outcomes(outcomes)


@pytest.fixture
def run(processed_catalogue, tmp_path):
    """A private copy (the mail ledger writes to the store)."""
    dirs, outcomes = processed_catalogue
    root = tmp_path / "data"
    shutil.copytree(dirs.root, root)
    moved = [{**o, "ontvangstbewijs": o["ontvangstbewijs"].replace(str(dirs.root), str(root))} for o in outcomes]
    return DataDirs(root), moved


def planted_values() -> list[str]:
    return [v for name in DROPPED if name in PLANTED for v in PLANTED[name]]


def assert_no_personal_data(mails) -> None:
    for m in mails:
        text = m.all_text()
        for value in planted_values():
            assert str(value) not in text, f"personal data {value!r} in mail {m.subject!r}"


# --------------------------------------------------------------------------- rejections


def test_rejections_reach_the_partner_with_the_receipt(run, mail_configured):
    dirs, outcomes = run
    assert notify_rejections(outcomes, dirs=dirs) == 3
    mails = mail_configured.snapshot()
    assert len(mails) == 3
    assert mail_configured.to(VO_ADDR) == []            # accepted: no mail

    [vt] = mail_configured.to(VT_ADDR)
    assert vt.rcpt_tos == [VT_ADDR] and vt.mail_from == "monitor@groningen.test"
    assert vt.subject == "Niet aangenomen: vt_som.xlsx (Veilig Thuis Groningen)"
    assert "Beste collega van Veilig Thuis Groningen" in vt.body
    assert "is niet aangenomen" in vt.body and "Pas het bestand aan" in vt.body
    [name] = [n for n in vt.attachments if n.endswith(".ontvangstbewijs.txt")]
    assert name.endswith("_vt_som.xlsx.ontvangstbewijs.txt")
    receipt = vt.attachments[name].decode()
    assert receipt == (dirs.outbox / "veilig_thuis" / name).read_text(encoding="utf-8")
    assert "NIET AANGENOMEN" in receipt
    # Exactly the receipt plus the marked-up copy the receipt names (etl.intake.markup, issue 8).
    copy = json.loads((dirs.outbox / "veilig_thuis" / name.replace(".txt", ".json")).read_text())["gemarkeerde_kopie"]
    assert set(vt.attachments) == {name} | ({copy} if copy else set())
    if copy:
        assert vt.attachments[copy] == (dirs.outbox / "veilig_thuis" / copy).read_bytes()

    wij = mail_configured.to(WIJ_ADDRS[0])
    assert len(wij) == 2 and all(sorted(m.rcpt_tos) == sorted(WIJ_ADDRS) for m in wij)
    assert {m.subject for m in wij} == {"Niet aangenomen: wij_bsn.xlsx (WIJ Groningen)",
                                        "Niet aangenomen: wij_mail.xlsx (WIJ Groningen)"}
    for m in wij:
        assert "herleidbaar" in m.body and "zonder waarden" in m.body
        assert [n.endswith(".ontvangstbewijs.txt") for n in m.attachments] == [True]   # the receipt only
    assert_no_personal_data(mails)


def test_marked_up_copy_is_attached_except_for_personal_data(run, mail_configured):
    """When the receipt names the marked-up copy (issue 8) it goes along; never for personal data."""
    dirs, outcomes = run
    for o in outcomes:
        if o["status"] != "afgekeurd":
            continue
        js = dirs.outbox / folder(o["bron"]) / o["ontvangstbewijs"].rsplit("/", 1)[1].replace(".txt", ".json")
        r = json.loads(js.read_text(encoding="utf-8"))
        if not r.get("gemarkeerde_kopie"):       # etl.intake.markup absent or silent: stand in for it
            r["gemarkeerde_kopie"] = f"{r['levering_id']}__gemarkeerd.xlsx"
            js.write_text(json.dumps(r), encoding="utf-8")
        copy = js.parent / r["gemarkeerde_kopie"]
        if not copy.exists():
            copy.write_bytes(b"PK-stand-in")
    notify_rejections(outcomes, dirs=dirs)
    [vt] = mail_configured.to(VT_ADDR)
    names = sorted(vt.attachments)
    assert len(names) == 2 and any(n.endswith(".ontvangstbewijs.txt") for n in names)
    assert any(n.endswith(".xlsx") for n in names)
    assert "uw eigen bestand met die punten gemarkeerd" in vt.body
    for m in mail_configured.to(WIJ_ADDRS[0]):
        assert len(m.attachments) == 1 and next(iter(m.attachments)).endswith(".ontvangstbewijs.txt")
    assert_no_personal_data(mail_configured.snapshot())


def test_a_retry_sends_nothing_twice_and_the_audit_log_says_what_was_sent(run, mail_configured):
    dirs, outcomes = run
    assert notify_rejections(outcomes, dirs=dirs) == 3
    assert notify_rejections(outcomes, dirs=dirs) == 0
    assert len(mail_configured.snapshot()) == 3
    from etl.store.db import Store

    with Store(dirs.db_path) as store:
        audit = store.audit()
    sent = audit[audit.actie == "mail_verstuurd"]
    assert len(sent) == 3
    details = [json.loads(d) for d in sent.details]
    assert {d["soort"] for d in details} == {"afkeuring"}
    assert set(sent.levering_id) == {o["levering_id"] for o in outcomes if o["status"] == "afgekeurd"}


def test_without_smtp_connection_nothing_is_sent_and_the_log_says_so(run, smtp_server, monkeypatch, caplog):
    """The embedded default: no smtp_default connection. The task succeeds and logs the skip."""
    dirs, outcomes = run
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_MONITOR_CONTACTS", json.dumps(CONTACTS))
    with caplog.at_level(logging.INFO, logger="etl.notify.mail"):
        assert notify_rejections(outcomes, dirs=dirs) == 0
        assert notify_report_ready("2024Q3", str(dirs.reports / "monitor_2024Q3.xlsx"), dirs=dirs) == 0
        assert notify_late_deliveries("2024Q3", today=dt.date(2025, 1, 1), dirs=dirs) == ["veilig_thuis", "wij"]
    assert smtp_server.snapshot() == []
    assert caplog.text.count("e-mail niet geconfigureerd (geen Airflow-verbinding 'smtp_default')") == 3 + 1 + 2


def test_missing_addresses_are_a_warning_not_a_failure(run, smtp_server, monkeypatch, caplog):
    dirs, outcomes = run
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    monkeypatch.delenv("AIRFLOW_VAR_MONITOR_CONTACTS", raising=False)
    with caplog.at_level(logging.WARNING, logger="etl.notify.mail"):
        assert notify_rejections(outcomes, dirs=dirs) == 0
    assert "geen e-mailadres voor afkeuring" in caplog.text
    assert smtp_server.snapshot() == []


def test_contacts_name_only_known_sources():
    with pytest.raises(ValueError, match="onbekende bron"):
        Contacts.from_dict({"bronnen": {"politie": ["x@y.test"]}})
    c = Contacts.from_dict({"bronnen": {"wij": "a@wij.test"}, "beleid": ["  b@g.test "]})
    assert c.for_source("wij") == ("a@wij.test",) and c.beleid == ("b@g.test",) and c.for_source("veilig_thuis") == ()


def test_a_local_team_is_mailed_only_at_its_own_addresses(tmp_path, smtp_server, monkeypatch, caplog):
    """Rejections of three WIJ-format files: one of Het Hogeland (its own contact), one of
    Westerkwartier (no contact configured: nobody, certainly not WIJ Groningen), one dropped
    in the shared root (the data team, who must find out whose it is)."""
    from etl.intake.inbox import process_inbox

    dirs = DataDirs(tmp_path / "data").ensure()
    broken = {c.name: c for c in CASES}["truncated_zip"]
    for where in ("wij/het-hogeland", "wij/westerkwartier", "wij"):
        path = build_case(broken, tmp_path / where.replace("/", "_"))
        target = dirs.inbox / where / f"{where.replace('/', '_')}.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        os.utime(target, (0, 0))
    outcomes = process_inbox(dirs, sources=("wij",))
    assert sorted(o.status for o in outcomes) == ["afgekeurd"] * 3
    team = "team@hogeland.test"
    contacts = {**CONTACTS, "organisaties": {"wij/het-hogeland": [team]}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    monkeypatch.setenv("AIRFLOW_VAR_MONITOR_CONTACTS", json.dumps(contacts))
    with caplog.at_level(logging.WARNING, logger="etl.notify.mail"):
        assert notify_rejections(as_dag_outcomes(outcomes), dirs=dirs) == 2
    mails = smtp_server.snapshot()
    assert sorted((m.rcpt_tos[0], m.subject) for m in mails) == [
        (DATATEAM, "Niet aangenomen: wij.xlsx (WIJ Groningen)"),
        (team, "Niet aangenomen: wij_het-hogeland.xlsx (Lokaal team Het Hogeland)")]
    assert all(len(m.rcpt_tos) == 1 for m in mails)
    assert not any(a in m.rcpt_tos for m in mails for a in WIJ_ADDRS)      # WIJ Groningen hears of neither
    assert "geen e-mailadres voor afkeuring" in caplog.text


def test_contacts_name_only_known_organisation_folders():
    with pytest.raises(ValueError, match="onbekende organisatiemap"):
        Contacts.from_dict({"organisaties": {"wij/hogeland": ["x@y.test"]}})
    c = Contacts.from_dict({"bronnen": {"wij": "a@wij.test", "veilig_thuis": "vt@vt.test"},
                            "organisaties": {"wij/het-hogeland": "t@h.test"}, "datateam": "d@g.test"})
    assert c.for_delivery("wij", "wij-groningen") == ("a@wij.test",)         # the source's entry: its first organisation
    assert c.for_delivery("wij", "het-hogeland") == ("t@h.test",)
    assert c.for_delivery("wij", "westerkwartier") == ()
    assert c.for_delivery("wij", "") == ("d@g.test",)
    assert c.for_delivery("veilig_thuis", "veilig-thuis-groningen") == ("vt@vt.test",)


# --------------------------------------------------------------------------- report ready


def test_report_ready_goes_to_policy_staff_with_a_link_and_no_attachment(ingested_copy, mail_configured, monkeypatch):
    dirs = ingested_copy
    monkeypatch.setenv("MONITOR_REPORTS_URL", "https://intranet.groningen.test/monitor/rapporten")
    workbook = dirs.reports / "monitor_2024Q4.xlsx"
    assert notify_report_ready("2024Q4", str(workbook), dirs=dirs) == 1
    [m] = mail_configured.snapshot()
    assert m.rcpt_tos == [BELEID]
    assert m.subject == "Kwartaalrapportage 4e kwartaal 2024 staat klaar"
    assert "https://intranet.groningen.test/monitor/rapporten/monitor_2024Q4.xlsx" in m.body
    for naam in ("Veilig Thuis Groningen", "WIJ Groningen", "Vrouwenopvang"):
        assert naam in m.body
    assert "Nog niet geleverd" not in m.body
    assert m.attachments == {}
    # The same figures again (a re-run) are not announced twice.
    assert notify_report_ready("2024Q4", str(workbook), dirs=dirs) == 0
    assert len(mail_configured.snapshot()) == 1


# --------------------------------------------------------------------------- late deliveries


def test_deadline_is_days_after_the_quarter_end():
    assert deadline("veilig_thuis", "2025Q1") == dt.date(2025, 4, 21)
    assert deadline("wij", "2025Q1") == dt.date(2025, 4, 28)
    assert deadline("vrouwenopvang", "2024Q4") == dt.date(2025, 1, 21)


def test_late_deliveries_mail_the_data_team_once(ingested_copy, mail_configured):
    dirs = ingested_copy
    # Everything for 2024Q4 is in: nothing late, no mail.
    assert notify_late_deliveries("2024Q4", today=dt.date(2025, 6, 1), dirs=dirs) == []
    # 2025Q1 not delivered: on the deadline day nobody is late yet ...
    assert notify_late_deliveries("2025Q1", today=dt.date(2025, 4, 21), dirs=dirs) == []
    assert mail_configured.snapshot() == []
    # ... the day after, VT and Vrouwenopvang (21 days) are; WIJ (28 days) is not.
    assert notify_late_deliveries("2025Q1", today=dt.date(2025, 4, 22), dirs=dirs) == ["veilig_thuis", "vrouwenopvang"]
    mails = mail_configured.snapshot()
    assert [m.rcpt_tos for m in mails] == [[DATATEAM], [DATATEAM]]
    assert sorted(m.subject for m in mails) == ["Te laat: levering 1e kwartaal 2025 van Veilig Thuis Groningen",
                                                "Te laat: levering 1e kwartaal 2025 van Vrouwenopvang"]
    vt = next(m for m in mails if "Veilig Thuis" in m.subject)
    assert "De deadline was 21 april 2025 (1 dag geleden)" in vt.body
    # Still late the next day: reported again by the function, but not mailed again.
    assert notify_late_deliveries("2025Q1", today=dt.date(2025, 4, 23), dirs=dirs) == ["veilig_thuis", "vrouwenopvang"]
    assert len(mail_configured.snapshot()) == 2
    # After WIJ's deadline too, only WIJ's mail is new.
    assert notify_late_deliveries("2025Q1", today=dt.date(2025, 5, 1), dirs=dirs) == ["veilig_thuis", "wij",
                                                                                     "vrouwenopvang"]
    assert [m.subject for m in mail_configured.snapshot()[2:]] == ["Te laat: levering 1e kwartaal 2025 van WIJ Groningen"]


def test_late_mail_names_the_last_rejected_attempt(run, mail_configured):
    dirs, outcomes = run
    rejected_vt = next(o for o in outcomes if o["bron"] == "veilig_thuis")
    assert "veilig_thuis" in notify_late_deliveries("2024Q3", today=dt.date(2024, 11, 1), dirs=dirs)
    [m] = [m for m in mail_configured.to(DATATEAM) if "Veilig Thuis" in m.subject]
    assert "Laatste afgekeurde poging" in m.body and rejected_vt["levering_id"] in m.body
    assert_no_personal_data(mail_configured.snapshot())
