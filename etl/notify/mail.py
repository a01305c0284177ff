"""E-mail notifications: rejections to partners, report ready to policy staff, late deliveries to the data team.

Mail goes out through Airflow's SMTP provider (``SmtpHook``, connection
``smtp_default``), so the mail server, its credentials and TLS settings live where all
other secrets live (an ``AIRFLOW_CONN_SMTP_DEFAULT`` variable or a secrets backend),
never in code. Who gets what is the Airflow Variable ``monitor_contacts`` (JSON, see
:class:`Contacts` and docs/operations.md): addresses change without a deploy and are
not committed to the repository.

On the embedded default there is no SMTP connection: every function logs that it
skipped the mail and carries on. A missing address for one recipient group is a
warning, not a failure: a configuration gap must not turn a data run red.

What goes into a mail, and why:

* Rejection (to the partner's contacts): a short Dutch note with file name, receipt
  id and what to do; the ``.txt`` receipt attached, plus the marked-up copy of their
  own workbook when the receipt names one. A personal-data rejection gets the receipt
  only (it names sheet and column, never a value) and no copy of the workbook.
  Nothing from the file's contents is in the body.
* Report ready (to policy staff): where the workbook is (``MONITOR_REPORTS_URL`` +
  file name, else its path on the server) and which deliveries it is built from. The
  workbook is *not* attached: it stays in one controlled place, a mailbox copy goes
  stale the moment a correction rebuilds the quarter, and mail is forwarded.
* Late delivery (to the data team): which partner has no accepted delivery for the
  quarter after its deadline (``deadline_dagen`` in include/sources.yaml, days after
  the quarter's last day) and the last rejected attempt, if any.

Every mail sent is written to the store's audit log (``mail_verstuurd``) with a key;
a mail whose key is already there is not sent again. That makes the tasks safe to
retry (an SMTP error half-way resends only what was not sent) and stops the same
lateness or the same report being announced twice.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from etl.core.config import SOURCES, DataDirs
from etl.core.quarters import label_nl, quarter_end, quarter_start
from etl.core.sources import get_source
from etl.core.status import DeliveryStatus
from etl.store.db import Store

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"
CONTACTS_VARIABLE = "monitor_contacts"
TZ = ZoneInfo("Europe/Amsterdam")
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december"]
FOOTER = ("Dit is een automatisch bericht van de Monitor huiselijk geweld en kindermishandeling, regio Groningen. "
          "Vragen? Neem contact op met het team Onderzoek en Statistiek van de gemeente Groningen.")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Contacts:
    """Who gets which mail. JSON form (Airflow Variable ``monitor_contacts``)::

        {"bronnen": {"veilig_thuis": ["..."], "wij": ["..."], "vrouwenopvang": ["..."]},
         "organisaties": {"wij/het-hogeland": ["..."], "wij/westerkwartier": ["..."]},
         "beleid": ["..."], "datateam": ["..."]}

    ``organisaties`` is keyed by partner folder. A source's own entry serves its first
    organisation (the one that delivered before organisations existed: WIJ Groningen), so
    an existing Variable keeps working; any other organisation of a shared source is
    mailed only at its own addresses, never at another team's (the receipt would tell
    them about a file that is not theirs).
    """

    bronnen: dict[str, tuple[str, ...]] = field(default_factory=dict)
    beleid: tuple[str, ...] = ()
    datateam: tuple[str, ...] = ()
    organisaties: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Contacts:
        def addresses(v: object) -> tuple[str, ...]:
            if v is None:
                return ()
            if isinstance(v, str):
                v = [v]
            return tuple(a.strip() for a in v if isinstance(a, str) and a.strip())

        unknown = set(d.get("bronnen", {})) - set(SOURCES)
        if unknown:
            raise ValueError(f"{CONTACTS_VARIABLE}: onbekende bron(nen) {sorted(unknown)}; bekend: {list(SOURCES)}")
        from etl.core.organisations import by_folder

        strange = {f for f in d.get("organisaties", {}) if by_folder(f) is None}
        if strange:
            raise ValueError(f"{CONTACTS_VARIABLE}: onbekende organisatiemap(pen) {sorted(strange)}; "
                             "gebruik de map van de organisatie, bijvoorbeeld 'wij/het-hogeland'")
        return cls(bronnen={b: addresses(a) for b, a in d.get("bronnen", {}).items()},
                   beleid=addresses(d.get("beleid")), datateam=addresses(d.get("datateam")),
                   organisaties={f: addresses(a) for f, a in d.get("organisaties", {}).items()})

    def for_source(self, bron: str) -> tuple[str, ...]:
        return self.bronnen.get(bron, ())

    def for_delivery(self, bron: str, organisatie: str) -> tuple[str, ...]:
        """Who is told about one delivery's rejection: its organisation's own addresses.

        A file dropped in a shared source's root belongs to no organisation: the data team
        is told (it has to find out whose it was), no team is."""
        from etl.core.organisations import folder_of, has_several, original

        try:
            folder = folder_of(bron, organisatie)
        except KeyError:                      # an organisation no longer configured
            return ()
        if folder in self.organisaties:
            return self.organisaties[folder]
        if not has_several(bron):
            return self.for_source(bron)
        if not organisatie:
            return self.datateam
        return self.for_source(bron) if organisatie == original(bron).code else ()


def contacts_from_airflow() -> Contacts:
    """The Variable ``monitor_contacts`` (env AIRFLOW_VAR_MONITOR_CONTACTS, secrets backend or metadata DB)."""
    from airflow.sdk import Variable

    raw = Variable.get(CONTACTS_VARIABLE, default=None)
    if not raw or not str(raw).strip():
        log.warning("geen Airflow Variable '%s': niemand om te mailen", CONTACTS_VARIABLE)
        return Contacts()
    return Contacts.from_dict(json.loads(raw) if isinstance(raw, str) else raw)


class Mailer(Protocol):
    def send(self, to: Sequence[str], subject: str, html_body: str, files: Sequence[Path] = ()) -> None: ...


class SmtpMailer:
    """Sends through Airflow's SMTP provider; one SMTP session per mail (they are few)."""

    def __init__(self, conn_id: str = SMTP_CONN_ID):
        self.conn_id = conn_id

    def send(self, to: Sequence[str], subject: str, html_body: str, files: Sequence[Path] = ()) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(to=list(to), subject=subject, html_content=html_body,
                                 files=[str(f) for f in files])


def mailer_from_airflow(conn_id: str = SMTP_CONN_ID) -> SmtpMailer | None:
    """An SMTP mailer if the Airflow connection exists, else None (embedded default)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return SmtpMailer(conn_id)


def _mailer_and_contacts(mailer, contacts: Contacts | None, use_airflow: bool):
    """The SMTP connection and contacts a sender uses: given, or from Airflow's configuration."""
    if use_airflow and mailer is None:
        mailer = mailer_from_airflow()
    if mailer is not None and contacts is None:
        contacts = contacts_from_airflow() if use_airflow else Contacts()
    return mailer, contacts or Contacts()


# --------------------------------------------------------------------------- ledger


def _already_sent(dirs: DataDirs, key: str) -> bool:
    if not Store.exists(dirs):
        return False
    with Store.open(dirs) as store:
        return store.mail_sent(key)


def _record_sent(dirs: DataDirs, key: str, soort: str, to: Sequence[str], *, bron: str | None = None,
                 levering_id: str | None = None, bijlagen: Sequence[Path] = ()) -> None:
    with Store.open(dirs) as store:
        store.log_event("mail_verstuurd", bron=bron, levering_id=levering_id, sleutel=key, soort=soort,
                        aan=list(to), bijlagen=[p.name for p in bijlagen])


def _send(dirs: DataDirs, mailer: Mailer | None, key: str, soort: str, to: Sequence[str], subject: str,
          body: str, files: Sequence[Path] = (), *, bron: str | None = None, levering_id: str | None = None) -> bool:
    """Send once per key; True if a mail went out now."""
    if mailer is None:
        log.info("e-mail niet geconfigureerd (geen Airflow-verbinding '%s'): %s niet verstuurd: %s",
                 SMTP_CONN_ID, soort, subject)
        return False
    if not to:
        log.warning("geen e-mailadres voor %s (Variable '%s'): niet verstuurd: %s", soort, CONTACTS_VARIABLE, subject)
        return False
    if _already_sent(dirs, key):
        log.info("%s al eerder verstuurd (%s); niet opnieuw", soort, key)
        return False
    mailer.send(list(to), subject, body, list(files))
    _record_sent(dirs, key, soort, to, bron=bron, levering_id=levering_id, bijlagen=files)
    log.info("e-mail %s verstuurd aan %d adres(sen): %s; bijlagen: %s", soort, len(to), subject,
             ", ".join(p.name for p in files) or "geen")
    return True


# --------------------------------------------------------------------------- rendering


def _date_nl(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _time_nl(iso: str) -> str:
    t = dt.datetime.fromisoformat(iso).astimezone(TZ)
    return f"{_date_nl(t.date())}, {t:%H:%M} uur"


def _days_ago(today: dt.date, then: dt.date) -> str:
    n = (today - then).days
    return f"{n} {'dag' if n == 1 else 'dagen'} geleden"


def _html(paragraphs: Iterable[str | list[str]]) -> str:
    """Paragraphs (escaped) and bullet lists (a list of strings), in a plain HTML mail."""
    parts = []
    for p in paragraphs:
        if isinstance(p, list):
            parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in p) + "</ul>")
        else:
            parts.append(f"<p>{html.escape(p)}</p>")
    parts.append(f'<p style="color:#555;font-size:small">{html.escape(FOOTER)}</p>')
    return "<html><body>" + "\n".join(parts) + "</body></html>\n"


def _source_name(bron: str) -> str:
    try:
        return get_source(bron).naam
    except KeyError:
        return bron


# --------------------------------------------------------------------------- rejections


def _rejection_mail(receipt_txt: Path, r: dict) -> tuple[str, str, list[Path]]:
    bron_naam = r.get("bron_naam") or _source_name(r["bron"])      # the organisation, as the receipt names it
    files = [receipt_txt]
    copy = None
    if r.get("gemarkeerde_kopie") and not r.get("persoonsgegevens"):
        p = Path(r["gemarkeerde_kopie"])
        copy = p if p.is_absolute() else receipt_txt.parent / p
        if copy.is_file():
            files.append(copy)
        else:
            log.warning("gemarkeerde kopie %s staat in het ontvangstbewijs maar bestaat niet; alleen het ontvangstbewijs mee",
                        copy.name)
            copy = None
    subject = f"Niet aangenomen: {r['bestand']} ({bron_naam})"
    paras: list[str | list[str]] = [
        f"Beste collega van {bron_naam},",
        f"Het bestand '{r['bestand']}', ontvangen op {_time_nl(r['ontvangen_op'])}, is niet aangenomen "
        f"(kenmerk {r['levering_id']}).",
    ]
    if r.get("persoonsgegevens"):
        paras += [
            "Het bestand bevat gegevens die naar personen herleidbaar zijn. Zulke gegevens mogen wij niet ontvangen. "
            "Het bestand is in zijn geheel geweigerd en afgeschermd bewaard.",
            "Het ontvangstbewijs in de bijlage noemt het tabblad en de kolom, bewust zonder waarden. "
            "Haal die gegevens uit het bestand en zet het daarna opnieuw in de map.",
        ]
    else:
        n = int(r.get("fouten") or 0)
        paras.append(f"In de bijlage vindt u het ontvangstbewijs met {n} {'punt' if n == 1 else 'punten'} om aan te passen"
                     + (", en uw eigen bestand met die punten gemarkeerd." if copy else "."))
        paras.append("Pas het bestand aan en zet het daarna opnieuw in dezelfde map; het wordt dan opnieuw gecontroleerd.")
    return subject, _html(paras), files


def notify_rejections(outcomes: list[dict], *, dirs: DataDirs | None = None, contacts: Contacts | None = None,
                      mailer: Mailer | None = None, use_airflow: bool = True) -> int:
    """Mail each partner whose file was rejected; returns the number of mails sent.

    ``outcomes`` are the inbox task's results (``bron``, ``bestand``, ``status``,
    ``levering_id``, ``ontvangstbewijs`` = path of the .txt receipt, relative to the data folder). The receipt's JSON
    twin says whether personal data were found and names the marked-up copy.
    """
    rejected = [o for o in outcomes if o.get("status") == DeliveryStatus.REJECTED]
    log.info("%d afgekeurde bestanden in deze run", len(rejected))
    if not rejected:
        return 0
    dirs = dirs or DataDirs.from_env()
    mailer, contacts = _mailer_and_contacts(mailer, contacts, use_airflow)
    sent = 0
    for o in rejected:
        txt = dirs.root / o["ontvangstbewijs"]       # relative to the data folder (absolute still works)
        js = txt.with_suffix(".json")
        try:
            r = json.loads(js.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.error("ontvangstbewijs %s onleesbaar (%s); geen e-mail voor levering %s", js.name, exc, o.get("levering_id"))
            continue
        subject, body, files = _rejection_mail(txt, r)
        log.info("afkeuring levering %s (%s, %s, persoonsgegevens=%s): e-mail met %s",
                 r["levering_id"], r["bron"], r["bestand"], bool(r.get("persoonsgegevens")),
                 " + ".join(f.name for f in files))
        to = contacts.for_delivery(r["bron"], r.get("organisatie") or o.get("organisatie") or "")
        sent += _send(dirs, mailer, f"afkeuring:{r['levering_id']}", "afkeuring", to,
                      subject, body, files, bron=r["bron"], levering_id=r["levering_id"])
    return sent


# --------------------------------------------------------------------------- report ready


def _current_deliveries(dirs: DataDirs, periode: str) -> list[dict]:
    if not Store.exists(dirs):
        return []
    with Store.open(dirs) as store:
        return [d for d in store.quarter_deliveries(periode) if d["actueel"]]


def report_link(workbook: Path) -> str:
    """Where policy staff open the workbook: MONITOR_REPORTS_URL + file name, else the server path."""
    base = os.environ.get("MONITOR_REPORTS_URL", "").strip()
    if base:
        sep = "" if base.endswith(("/", "\\")) else ("\\" if base.startswith("\\\\") else "/")
        return f"{base}{sep}{workbook.name}"
    return str(workbook)


def notify_report_ready(periode: str, workbook: str, *, dirs: DataDirs | None = None,
                        contacts: Contacts | None = None, mailer: Mailer | None = None,
                        use_airflow: bool = True) -> int:
    """Tell policy staff the quarter's workbook is ready (a link, no attachment); returns mails sent.

    Announced once per set of deliveries: rebuilding the same figures sends nothing,
    a correction that changes a delivery announces the new workbook.
    """
    dirs = dirs or DataDirs.from_env()
    wb = Path(workbook)
    current = _current_deliveries(dirs, periode)
    log.info("werkmap %s klaar: %s (%d actuele leveringen)", periode, wb, len(current))
    mailer, contacts = _mailer_and_contacts(mailer, contacts, use_airflow)
    if not current:
        return _notify_report_empty(periode, wb, dirs, contacts, mailer)
    lines = [f"{_source_name(d['bron'])}: geleverd op {_time_nl(d['ontvangen_op'])} (kenmerk {d['levering_id']})"
             for d in current]
    missing = [_source_name(b) for b in SOURCES if b not in {d["bron"] for d in current}]
    paras: list[str | list[str]] = [
        "Beste collega,",
        f"De kwartaalrapportage over het {label_nl(periode)} staat klaar: {report_link(wb)}",
        "De werkmap is gemaakt met deze leveringen:", lines or ["(geen leveringen)"],
    ]
    if missing:
        paras.append("Nog niet geleverd voor dit kwartaal: " + ", ".join(missing)
                     + ". Hun cijfers staan in de werkmap als ontbrekend.")
    paras.append("Aantallen van 1 tot en met 4 staan in de werkmap als <5. De werkmap zit bewust niet als bijlage "
                 "bij deze e-mail: open hem op de plek hierboven, dan heeft u altijd de laatste versie.")
    key = f"rapport:{periode}:" + ",".join(sorted(d["levering_id"] for d in current))
    subject = f"Kwartaalrapportage {label_nl(periode)} staat klaar"
    return int(_send(dirs, mailer, key, "rapport_klaar", contacts.beleid, subject, _html(paras)))


def _notify_report_empty(periode: str, wb: Path, dirs: DataDirs, contacts: Contacts, mailer: Mailer | None) -> int:
    """A quarter without any accepted delivery is not "klaar": say what is missing instead.

    Issue 11: unpausing the quarterly DAG on go-live announced a workbook for a quarter
    with no data. Policy staff and the data team hear which sources are missing; the
    "staat klaar" mail follows when a rebuild has deliveries (its key names them).
    """
    missing = [_source_name(b) for b in SOURCES]
    log.warning("werkmap %s heeft geen enkele goedgekeurde levering (ontbrekend: %s): geen 'staat klaar'-mail",
                periode, ", ".join(missing))
    paras: list[str | list[str]] = [
        "Beste collega,",
        f"De kwartaalrapportage over het {label_nl(periode)} is nog niet klaar: er is voor dit kwartaal "
        "nog van geen enkele partner een goedgekeurde levering binnen.",
        "Nog geen goedgekeurde levering van:", missing,
        "Zodra er leveringen zijn, maakt het datateam de rapportage opnieuw; dan volgt het bericht dat zij klaarstaat. "
        f"De werkmap die nu op {report_link(wb)} staat, bevat voor dit kwartaal geen cijfers.",
    ]
    to = tuple(dict.fromkeys((*contacts.beleid, *contacts.datateam)))
    subject = f"Kwartaalrapportage {label_nl(periode)}: nog geen leveringen, niet klaar"
    return int(_send(dirs, mailer, f"rapport_leeg:{periode}", "rapport_leeg", to, subject, _html(paras)))


# --------------------------------------------------------------------------- late deliveries

FIRST_QUARTER_VARIABLE = "monitor_first_quarter"


def first_quarter_from_airflow() -> str | None:
    """The go-live quarter (Airflow Variable ``monitor_first_quarter``, e.g. ``2026Q4``), or None."""
    from airflow.sdk import Variable

    raw = Variable.get(FIRST_QUARTER_VARIABLE, default=None)
    return str(raw).strip().upper() or None if raw else None


def deadline(bron: str, periode: str) -> dt.date:
    """Last day a delivery for ``periode`` is on time: the quarter's last day + ``deadline_dagen``."""
    return quarter_end(periode) + dt.timedelta(days=get_source(bron).deadline_dagen)


def late_sources(periode: str, today: dt.date, dirs: DataDirs) -> list[str]:
    """Sources past their deadline without an accepted (current) delivery for ``periode``."""
    delivered: set[str] = set()
    if Store.exists(dirs):
        with Store.open(dirs) as store:
            delivered = {b for b, ps in store.current_quarters().items() if periode in ps}
    return [b for b in SOURCES if b not in delivered and today > deadline(b, periode)]


def _last_rejected(dirs: DataDirs, bron: str, periode: str) -> dict | None:
    if not Store.exists(dirs):
        return None
    with Store.open(dirs) as store:
        rows = store.rejected(bron)
    since = quarter_start(periode).isoformat()
    for row in rows:
        periodes = row["periodes"]
        # A file too broken to say its quarter counts if it arrived after the quarter began.
        if periode in periodes or (not periodes and row["ontvangen_op"] >= since):
            return dict(row)
    return None


def notify_late_deliveries(periode: str, *, today: dt.date | None = None, dirs: DataDirs | None = None,
                           contacts: Contacts | None = None, mailer: Mailer | None = None,
                           use_airflow: bool = True, first_quarter: str | None = None) -> list[str]:
    """The sources whose delivery for ``periode`` is late; the data team gets one mail per late source, once.

    A quarter before ``first_quarter`` (the go-live quarter; by default the Airflow
    Variable ``monitor_first_quarter``) is never late: on go-live, unpausing a DAG runs
    its latest slot at once, for a quarter nobody was asked to deliver to this monitor.
    """
    dirs = dirs or DataDirs.from_env()
    today = today or dt.datetime.now(TZ).date()
    late = late_sources(periode, today, dirs)
    if late and first_quarter is None and use_airflow:
        first_quarter = first_quarter_from_airflow()
    if late and first_quarter and periode < first_quarter:
        log.info("levering %s: kwartaal voor de start van de monitor (%s = %s); geen te-laat-meldingen",
                 periode, FIRST_QUARTER_VARIABLE, first_quarter)
        return []
    for b in SOURCES:
        log.info("levering %s van %s: deadline %s, %s", periode, b, deadline(b, periode).isoformat(),
                 "TE LAAT" if b in late else "in orde of nog niet verstreken")
    if not late:
        return []
    mailer, contacts = _mailer_and_contacts(mailer, contacts, use_airflow)
    for b in late:
        naam, dl = _source_name(b), deadline(b, periode)
        paras: list[str | list[str]] = [
            "Beste datateam,",
            f"Voor het {label_nl(periode)} is van {naam} nog geen goedgekeurde levering binnen. "
            f"De deadline was {_date_nl(dl)} ({_days_ago(today, dl)}).",
        ]
        rej = _last_rejected(dirs, b, periode)
        if rej:
            paras.append(f"Laatste afgekeurde poging: {_time_nl(rej['ontvangen_op'])} (kenmerk {rej['levering_id']}); "
                         "het ontvangstbewijs staat in de outbox van deze partner.")
        else:
            paras.append("Er is voor dit kwartaal ook geen afgekeurd bestand van deze partner ontvangen.")
        paras.append("Neem contact op met de partner; de kwartaalrapportage toont hun cijfers tot die tijd als ontbrekend.")
        _send(dirs, mailer, f"te_laat:{periode}:{b}", "te_laat", contacts.datateam,
              f"Te laat: levering {label_nl(periode)} van {naam}", _html(paras), bron=b)
    return late


# --------------------------------------------------------------------------- inbox stalled


def notify_inbox_stalled(waiting: Sequence, minutes: float, *, dirs: DataDirs | None = None,
                         contacts: Contacts | None = None, mailer: Mailer | None = None,
                         use_airflow: bool = True) -> int:
    """Tell the data team that receipts have stopped: files wait longer than ``minutes``.

    ``waiting`` are :class:`etl.notify.health.Waiting` entries, oldest first. One mail per
    stall, keyed on the oldest waiting file: the watcher checks every minute, and a
    second mail follows only when a different file becomes the oldest one stuck.
    """
    if not waiting:
        return 0
    dirs = dirs or DataDirs.from_env()
    mailer, contacts = _mailer_and_contacts(mailer, contacts, use_airflow)
    oldest = waiting[0]
    plek = {"inbox": "in de inbox", "processing": "half verwerkt (processing/)"}
    lines = [f"{_source_name(w.bron)}: '{w.name}', {plek.get(w.where, w.where)}, "
             f"sinds {_time_nl(w.since_iso)} ({int(w.age_seconds // 60)} min.)" for w in waiting[:20]]
    if len(waiting) > 20:
        lines.append(f"... en nog {len(waiting) - 20} bestand(en)")
    paras: list[str | list[str]] = [
        "Beste datateam,",
        f"Er wachten bestanden langer dan {minutes:g} minuten op verwerking: de partners krijgen dus geen "
        "ontvangstbewijs. Normaal is een bestand binnen een minuut verwerkt.",
        "Wachtende bestanden (oudste eerst):", lines,
        "Meestal ligt het aan Airflow, niet aan het bestand: een worker die de broker (Redis) niet bereikt, "
        "een gestopte scheduler of worker, of een gepauzeerde DAG inbox_verwerking. Kijk met `docker compose ps` "
        "welke dienst niet gezond is en in de Airflow-UI bij inbox_verwerking (taken die in 'queued' blijven staan). "
        "Zie docs/operations.md, 'Receipts stopped'.",
    ]
    key = f"inbox_stil:{oldest.where}/{oldest.bron}/{oldest.name}:{oldest.since_iso}"
    subject = f"Ontvangstbewijzen blijven uit: {len(waiting)} bestand(en) wachten langer dan {minutes:g} minuten"
    return int(_send(dirs, mailer, key, "inbox_stil", contacts.datateam, subject, _html(paras), bron=oldest.bron))
