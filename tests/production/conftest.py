"""Fixtures for the production path: the machine's PostgreSQL and Redis, and a real SMTP server.

Nothing here is mocked. PostgreSQL (127.0.0.1:5432, user postgres, trust auth) gets a
fresh database per test session, dropped afterwards; the SMTP server is aiosmtpd on a
free loopback port, and mail goes to it through Airflow's SMTP provider, configured the
way production configures it (an ``AIRFLOW_CONN_SMTP_DEFAULT`` variable). When a service
is not running, the tests that need it skip and name the command that starts it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
START_HINT = "start it with `bash scripts/ensure-services.sh` (CI runs it via scripts/test.sh)"

CONTACTS = {
    "bronnen": {"veilig_thuis": ["registratie@veiligthuis.test"], "wij": ["data@wij.test", "teamleider@wij.test"],
                "vrouwenopvang": ["info@vrouwenopvang.test"]},
    "beleid": ["beleid@groningen.test"],
    "datateam": ["datateam@groningen.test"],
}


def pg_uri(dbname: str = "postgres") -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect(pg_uri(), connect_timeout=3, autocommit=True) as c:
            c.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER} ({type(exc).__name__}: {exc}".strip() + ")"
    return None


def redis_reachable() -> str | None:
    try:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT} ({type(exc).__name__}: {exc})"
    return None


def create_database(name: str) -> str:
    import psycopg

    with psycopg.connect(pg_uri(), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    return pg_uri(name)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_uri(), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres():
    """Skip (naming the start command) unless the machine's PostgreSQL answers."""
    reason = postgres_reachable()
    if reason:
        pytest.skip(f"{reason}; {START_HINT}")
    return pg_uri()


@pytest.fixture(scope="session")
def warehouse_db(postgres):
    """A fresh database for this test session (monitor_test_<pid>), dropped afterwards."""
    name = f"monitor_test_{os.getpid()}"
    uri = create_database(name)
    yield uri
    drop_database(name)


# --------------------------------------------------------------------------- SMTP


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    msg: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.msg["Subject"])

    @property
    def body(self) -> str:
        part = self.msg.get_body(preferencelist=("html", "plain"))
        return part.get_content() if part is not None else ""

    @property
    def attachments(self) -> dict[str, bytes]:
        return {p.get_filename(): p.get_payload(decode=True) for p in self.msg.iter_attachments()}

    def all_text(self) -> str:
        """Everything a reader could see: headers, body and every attachment, decoded."""
        parts = [self.raw.decode("utf-8", "replace"), self.subject, self.body]
        parts += [data.decode("utf-8", "replace") for data in self.attachments.values()]
        return "\n".join(parts)


@dataclass
class SmtpServer:
    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def conn_json(self) -> str:
        """The Airflow connection smtp_default for this server (plain SMTP on loopback, no TLS)."""
        return json.dumps({"conn_type": "smtp", "host": self.host, "port": self.port,
                           "extra": {"from_email": "monitor@groningen.test", "disable_ssl": True, "disable_tls": True,
                                     "timeout": 10, "retry_limit": 1}})

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.rcpt_tos]

    def snapshot(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), raw, msg))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port, collecting what arrives."""
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(_Handler(server), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def mail_configured(smtp_server, monkeypatch):
    """Airflow configured as in production: smtp_default and monitor_contacts from environment variables."""
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    monkeypatch.setenv("AIRFLOW_VAR_MONITOR_CONTACTS", json.dumps(CONTACTS))
    return smtp_server


@pytest.fixture
def ingested_copy(ingested_samples, tmp_path):
    """A private copy of the ingested sample data (tests add deliveries or mails to it)."""
    from etl.core.config import DataDirs

    dirs, _ = ingested_samples
    root = tmp_path / "data"
    shutil.copytree(dirs.root, root)
    return DataDirs(root)
