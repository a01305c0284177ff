"""The production stack (docker-compose.yaml, Dockerfile, .env.example) holds together.

Docker cannot run here, so these tests read the files: the topology the issue asks for,
no secret in the repository, every variable documented in .env.example, and the
variables resolving to a consistent configuration. `docker compose config`, the
compose-spec JSON schema and a real PostgreSQL run of the init script are checked too
when the tools for them are on the machine, and skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
INIT_SQL = ROOT / "include" / "docker" / "postgres-init.sql"

REQUIRED_SERVICES = {
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
}
ONE_SHOT_SERVICES = {"airflow-init"}
DATA_DIR = "/opt/monitor/data"

# Names whose values are secrets: they may only ever be ${VAR} references.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|(^|_)KEY$", re.IGNORECASE)
# scheme://user:password@host -- the password part.
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<password>[^@\s]*)@", re.I)
JSON_PASSWORD = re.compile(r'"password"\s*:\s*"(?P<password>[^"]*)"')

# Compose interpolation: $$ (escaped), ${VAR}, ${VAR:-default}, ${VAR-default},
# ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt} (one level of nesting in the
# default) and the unbraced $VAR.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>(?:[^{}$]|\$\{[^{}]*\}|\$)*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_REFERENCE_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}$")


class MissingVariable(ValueError):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    """Resolve compose variables in one string the way `docker compose` does."""

    def repl(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("named")
        op, arg = m.group("op"), m.group("arg") or ""
        is_set = name in env
        val = env.get(name, "")
        if op in (":-", "-"):
            use_default = (not val) if op == ":-" else (not is_set)
            return interpolate(arg, env) if use_default else val
        if op in (":?", "?"):
            if (not val) if op == ":?" else (not is_set):
                raise MissingVariable(f"{name}: {arg}")
            return val
        if op in (":+", "+"):
            use_alt = bool(val) if op == ":+" else is_set
            return interpolate(arg, env) if use_alt else ""
        return val

    return _INTERPOLATION.sub(repl, value)


def variables_in(value: str) -> set[str]:
    names = set()
    for m in _INTERPOLATION.finditer(value):
        if m.group("escaped"):
            continue
        names.add(m.group("braced") or m.group("named"))
        if m.group("arg"):
            names |= variables_in(m.group("arg"))
    return names


def walk_strings(node):
    """Every string value (not key) in a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)


def resolve(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    return node


def parse_env_file(path: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """KEY=VALUE lines of a dotenv file, and the comment lines directly above each key."""
    values: dict[str, str] = {}
    comments: dict[str, list[str]] = {}
    pending: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            pending = []
            continue
        if line.startswith("#"):
            pending.append(line)
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        assert key not in values, f"{path.name}: {key} is defined twice"
        values[key] = value
        comments[key] = pending
        pending = []
    return values, comments


def env_mapping(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_text(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test", "")
    return " ".join(test) if isinstance(test, list) else str(test)


def volume_entries(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume, short or long syntax."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source", "")), str(v["target"])))
        else:
            parts = v.split(":")
            # ${VAR:?message}/inbox:/target contains colons of its own: split on the last ones
            if len(parts) > 2 and parts[-1] in ("ro", "rw", "z", "Z"):
                parts = parts[:-1]
            out.append((":".join(parts[:-1]), parts[-1]))
    return out


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(services) -> dict[str, dict]:
    return {name: svc for name, svc in services.items() if name.startswith("airflow-")}


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)[0]


@pytest.fixture(scope="module")
def resolved(compose, example_env) -> dict:
    """The compose document with .env.example's placeholder values filled in."""
    return resolve(compose, example_env)


# --- topology -------------------------------------------------------------------------------


def test_every_required_service_is_present(services):
    missing = REQUIRED_SERVICES - services.keys()
    assert not missing, f"services missing from docker-compose.yaml: {sorted(missing)}"


def test_every_service_has_a_healthcheck(services):
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        assert hc, f"{name} has no healthcheck"
        assert not hc.get("disable"), f"{name}: healthcheck disabled"
        test = hc.get("test")
        assert test and test != ["NONE"], f"{name}: healthcheck without a test"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test {test!r}"


def test_healthchecks_use_the_documented_endpoints(services):
    assert "/api/v2/version" in healthcheck_text(services["airflow-apiserver"])
    assert "8974/health" in healthcheck_text(services["airflow-scheduler"])
    assert "DagProcessorJob" in healthcheck_text(services["airflow-dag-processor"])
    assert "TriggererJob" in healthcheck_text(services["airflow-triggerer"])
    assert "inspect ping" in healthcheck_text(services["airflow-worker"])
    assert "pg_isready" in healthcheck_text(services["postgres"])
    assert "ping" in healthcheck_text(services["redis"])


def test_scheduler_health_server_is_enabled(airflow_services):
    env = env_mapping(airflow_services["airflow-scheduler"])
    assert env.get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "").lower() == "true"


def test_every_service_has_a_restart_policy(services):
    for name, svc in services.items():
        policy = str(svc.get("restart", ""))
        if name in ONE_SHOT_SERVICES:
            assert policy in ("no", "on-failure") or policy.startswith("on-failure:"), (
                f"{name} is a one-shot job: restart {policy!r}"
            )
        else:
            assert policy in ("always", "unless-stopped"), f"{name}: restart {policy!r}"


def test_worker_runs_celery_worker(services):
    assert re.search(r"\bcelery\s+worker\b", command_text(services["airflow-worker"]))
    assert "celery_executor.app inspect ping" in healthcheck_text(services["airflow-worker"])


def test_the_executor_is_celery_everywhere(airflow_services):
    for name, svc in airflow_services.items():
        assert env_mapping(svc).get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name


def test_airflow_components_share_database_broker_and_secrets(airflow_services):
    shared = (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    )
    envs = {name: env_mapping(svc) for name, svc in airflow_services.items()}
    for key in shared:
        values = {name: env.get(key) for name, env in envs.items()}
        assert None not in values.values(), f"{key} missing in {values}"
        assert len(set(values.values())) == 1, f"{key} differs between services: {values}"


def test_broker_is_the_redis_service(services, resolved):
    env = env_mapping(resolved["services"]["airflow-worker"])
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis"
    assert broker.hostname == "redis" and "redis" in services
    assert services["redis"]["image"].startswith("redis:")
    backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
    assert backend.scheme == "db+postgresql" and backend.hostname == "postgres"


def test_metadata_and_warehouse_databases_differ(resolved):
    env = env_mapping(resolved["services"]["airflow-scheduler"])
    meta = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    warehouse = urlsplit(env["AIRFLOW_CONN_MONITOR_WAREHOUSE"])
    assert meta.scheme.startswith("postgresql")
    assert warehouse.scheme in ("postgresql", "postgres")

    def where(u):
        return (u.hostname, u.port or 5432, u.path.strip("/"))

    assert where(meta) != where(warehouse)
    assert meta.path.strip("/") and warehouse.path.strip("/")
    # The metadata database is the postgres service's POSTGRES_DB ...
    pg_env = env_mapping(resolved["services"]["postgres"])
    assert meta.hostname == "postgres" and meta.path.strip("/") == pg_env["POSTGRES_DB"]
    # ... and a warehouse on that same server is created by the init script.
    if warehouse.hostname == "postgres":
        created = re.findall(r"CREATE\s+DATABASE\s+\"?(\w+)", INIT_SQL.read_text(), re.I)
        assert warehouse.path.strip("/") in created


def test_postgres_runs_the_init_script(services):
    mounts = volume_entries(services["postgres"])
    init = [(s, t) for s, t in mounts if t.startswith("/docker-entrypoint-initdb.d/")]
    assert init, "include/docker/postgres-init.sql is not mounted into /docker-entrypoint-initdb.d"
    for source, target in init:
        assert target.endswith(".sql")
        assert (ROOT / source).resolve() == INIT_SQL.resolve()
    assert INIT_SQL.is_file()


def test_airflow_init_migrates_and_creates_the_admin(services):
    svc = services["airflow-init"]
    env = env_mapping(svc)
    assert env.get("_AIRFLOW_DB_MIGRATE") == "true"
    assert env.get("_AIRFLOW_WWW_USER_CREATE") == "true"
    assert "FabAuthManager" in env["AIRFLOW__CORE__AUTH_MANAGER"]
    script = command_text(svc)
    assert "/entrypoint" in script and "chown" in script
    assert str(svc.get("user")).startswith("0:"), "chown of the volumes needs root"


def test_services_wait_for_their_dependencies(airflow_services):
    init = airflow_services["airflow-init"]["depends_on"]
    assert init["postgres"]["condition"] == "service_healthy"
    assert init["redis"]["condition"] == "service_healthy"
    for name, svc in airflow_services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        deps = svc.get("depends_on") or {}
        assert deps.get("airflow-init", {}).get("condition") == "service_completed_successfully", name
        assert deps.get("postgres", {}).get("condition") == "service_healthy", name
    worker = airflow_services["airflow-worker"]["depends_on"]
    assert worker["airflow-apiserver"]["condition"] == "service_healthy"


def test_airflow_settings_for_production(airflow_services, resolved):
    for name in airflow_services:
        env = env_mapping(resolved["services"][name])
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags", name
        execution = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert execution.hostname == "airflow-apiserver", name
        assert execution.path == "/execution/", name
        assert 1 <= int(env["AIRFLOW__CORE__PARALLELISM"]) <= 8, name
        assert 1 <= int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) <= 4, name


def test_dags_come_from_the_image(compose, airflow_services):
    for name, svc in airflow_services.items():
        targets = [t for _, t in volume_entries(svc)]
        assert not any(t.rstrip("/").startswith("/opt/airflow/dags") for t in targets), name
        assert "build" in svc and svc["build"]["context"] == ".", name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env_mapping(svc), name


def test_data_directory_and_partner_mounts(airflow_services):
    for name, svc in airflow_services.items():
        env = env_mapping(svc)
        assert env.get("MONITOR_DATA_DIR") == DATA_DIR, name
        mounts = dict((t, s) for s, t in volume_entries(svc))
        assert mounts.get(DATA_DIR) == "monitor-data", name
        for sub in ("inbox", "outbox", "reports"):
            source = mounts.get(f"{DATA_DIR}/{sub}")
            assert source and "MONITOR_DATA_HOST_DIR" in variables_in(source), (name, sub)
            assert source.endswith(f"/{sub}"), (name, source)
        assert "/opt/airflow/logs" in mounts, name


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for source, _ in volume_entries(svc):
            if source and not source.startswith(("/", ".", "$", "~")):
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_only_the_api_server_is_published(services):
    for name, svc in services.items():
        if name != "airflow-apiserver":
            assert not svc.get("ports"), f"{name} publishes ports"


def test_smtp_connection_is_valid_json(resolved):
    env = env_mapping(resolved["services"]["airflow-worker"])
    conn = json.loads(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert conn["conn_type"] == "smtp"
    assert isinstance(conn["port"], int)
    assert conn["extra"]["from_email"]
    assert isinstance(conn["extra"]["disable_ssl"], bool)
    assert isinstance(conn["extra"]["disable_tls"], bool)


# --- secrets and variables -------------------------------------------------------------------


def test_no_literal_secrets_in_the_compose_file(compose):
    problems = []
    for scope, node in [("x-airflow-common", compose["x-airflow-common"]), *compose["services"].items()]:
        for key, value in env_mapping(node).items():
            if SECRET_NAME.search(key) and not _REFERENCE_ONLY.match(value):
                problems.append(f"{scope}: {key}={value!r} is not a ${{VAR}} reference")
    # Credentials inside URLs and JSON: resolve every variable to a sentinel first, so
    # that ${VAR:?message with spaces} and ${USER:-x} cannot hide a literal password.
    used = set()
    for value in walk_strings(compose):
        used |= variables_in(value)
    sentinels = {name: f"__VAR_{name}__" for name in used}
    sentinel = re.compile(r"^__VAR_[A-Za-z0-9_]+__$")
    for value in walk_strings(compose):
        text = interpolate(value, sentinels)
        for pattern in (URL_CREDENTIALS, JSON_PASSWORD):
            for m in pattern.finditer(text):
                if not sentinel.match(m.group("password")):
                    problems.append(f"literal password {m.group('password')!r} in {value!r}")
    assert not problems, "\n".join(problems)


def test_the_secret_check_catches_literals():
    """The checks above would notice an official-file style airflow:airflow@postgres."""
    literal = "postgresql+psycopg2://airflow:airflow@postgres/airflow"
    assert URL_CREDENTIALS.search(literal).group("password") == "airflow"
    assert JSON_PASSWORD.search('{"password": "hunter2"}').group("password") == "hunter2"
    assert not _REFERENCE_ONLY.match("${FERNET_KEY:-abc}")
    assert _REFERENCE_ONLY.match("${FERNET_KEY:?set FERNET_KEY in .env}")


def test_secrets_have_no_defaults(compose):
    """${SECRET:-fallback} would start the stack with a known secret when .env lacks it."""
    for value in walk_strings(compose):
        for m in _INTERPOLATION.finditer(value):
            name = m.group("braced")
            if name and SECRET_NAME.search(name) or (name or "").startswith("AIRFLOW_CONN_"):
                assert m.group("op") in (":?", "?"), f"${{{name}}} must be required (:?), not {m.group(0)}"


def test_every_variable_is_in_env_example(compose, example_env):
    used = set()
    for value in walk_strings(compose):
        used |= variables_in(value)
    missing = used - example_env.keys()
    assert not missing, f"used in docker-compose.yaml, missing from .env.example: {sorted(missing)}"
    unused = example_env.keys() - used
    assert not unused, f"in .env.example but not used by docker-compose.yaml: {sorted(unused)}"


def test_env_example_resolves_everything(compose, example_env):
    resolve(compose, example_env)  # raises MissingVariable for an empty required value


def test_a_missing_secret_stops_compose(compose, example_env):
    env = dict(example_env)
    del env["FERNET_KEY"]
    with pytest.raises(MissingVariable, match="FERNET_KEY"):
        resolve(compose, env)


def test_env_example_documents_every_variable():
    _, comments = parse_env_file(ENV_EXAMPLE)
    undocumented = [k for k, c in comments.items() if not c]
    assert not undocumented, f"no comment above: {undocumented}"


def test_env_example_holds_only_placeholders(example_env):
    for key, value in example_env.items():
        if SECRET_NAME.search(key):
            assert "CHANGE_ME" in value, f".env.example: {key} looks like a real secret"
    for m in URL_CREDENTIALS.finditer(example_env["AIRFLOW_CONN_MONITOR_WAREHOUSE"]):
        assert "CHANGE_ME" in m.group("password")


def test_env_example_says_how_to_generate_the_fernet_key():
    _, comments = parse_env_file(ENV_EXAMPLE)
    text = "\n".join(comments["FERNET_KEY"])
    assert "Fernet.generate_key()" in text and "rotate-fernet-key" in text


def test_dot_env_is_git_ignored():
    gitignore = ROOT / ".gitignore"
    assert gitignore.is_file()
    assert ".env" in {line.strip() for line in gitignore.read_text().splitlines()}
    if shutil.which("git"):
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", ".env"], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, ".env is not ignored by git"
        example = subprocess.run(
            ["git", "check-ignore", "--no-index", "-q", ".env.example"], cwd=ROOT, check=False
        )
        assert example.returncode == 1, ".env.example must not be ignored"


# --- the image -------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_builds_from_the_lock():
    lines = _dockerfile_instructions()
    assert lines[0] == "FROM apache/airflow:3.3.2-python3.11"
    runs = [line for line in lines if line.startswith("RUN ")]
    copies = [line for line in lines if line.startswith("COPY ")]
    lock_install = next(i for i, line in enumerate(lines) if "pip install --no-cache-dir -r requirements.lock" in line)
    project_install = next(i for i, line in enumerate(lines) if re.search(r"pip install .*--no-deps \.", line))
    assert lock_install < project_install
    assert any("requirements.lock" in c for c in copies)
    for item in ("etl/", "dags/", "include/", "expectations/", "pyproject.toml"):
        assert any(item in c for c in copies), f"Dockerfile does not copy {item}"
    assert runs


def test_image_airflow_version_matches_the_project_pin():
    pin = re.search(r"apache-airflow==([\w.]+)", (ROOT / "pyproject.toml").read_text())
    assert pin, "pyproject.toml does not pin apache-airflow"
    assert f"apache/airflow:{pin.group(1)}-" in DOCKERFILE.read_text()
    lock = ROOT / "requirements.lock"
    if lock.is_file():
        assert re.search(rf"^apache-airflow=={re.escape(pin.group(1))}\b", lock.read_text(), re.M)


def test_airflow_option_names_exist(compose):
    """Every AIRFLOW__SECTION__KEY is an option Airflow (core + installed providers) knows."""
    pytest.importorskip("airflow", reason="Airflow is not installed in this environment")
    keys = sorted(k for k in env_mapping(compose["x-airflow-common"]) if k.startswith("AIRFLOW__"))
    pairs = [k.removeprefix("AIRFLOW__").lower().split("__", 1) for k in keys]
    code = (
        "import json, sys\n"
        "from airflow.configuration import conf\n"
        "pairs = json.loads(sys.argv[1])\n"
        "known = conf.configuration_description\n"
        "print(json.dumps([p for p in pairs\n"
        "                  if p[1] not in known.get(p[0], {}).get('options', {})]))\n"
    )
    with tempfile.TemporaryDirectory() as home:
        # A clean environment: nothing of ours (AIRFLOW__*) leaks into the check.
        env = {"AIRFLOW_HOME": home, "HOME": home, "PATH": os.environ.get("PATH", "")}
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(pairs)],
            env=env, capture_output=True, text=True, timeout=300, check=True,
        )
    unknown = json.loads(out.stdout.strip().splitlines()[-1])
    assert not unknown, f"unknown Airflow options: {unknown}"


def test_the_celery_executor_imports():
    """The stack runs the CeleryExecutor: it must import with the installed (locked) celery.

    celery 5.7.0 removed celery.backends.database.retry, which celery provider 3.26.0
    imports: the scheduler then cannot load "CeleryExecutor" and `airflow celery worker`
    fails. The fix is a pin (celery<5.7) in requirements.in / requirements.lock.
    """
    import importlib.util

    if importlib.util.find_spec("airflow") is None:
        pytest.skip("Airflow is not installed in this environment")
    code = (
        "from importlib.metadata import version\n"
        "print('celery', version('celery'), 'provider', version('apache-airflow-providers-celery'))\n"
        "import airflow.providers.celery.executors.celery_executor\n"
    )
    with tempfile.TemporaryDirectory() as home:
        env = {"AIRFLOW_HOME": home, "HOME": home, "PATH": os.environ.get("PATH", "")}
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
    if "No package metadata was found for apache-airflow-providers-celery" in out.stderr:
        pytest.skip("the celery provider is not installed in this environment")
    assert out.returncode == 0, out.stdout + out.stderr.strip().splitlines()[-1]


def test_the_lock_pins_what_the_tests_run_on():
    """The image installs requirements.lock; the tests ran on this environment. They must agree
    on the packages the stack's processes are made of, or the image is not what was tested."""
    from importlib.metadata import PackageNotFoundError, version

    lock = ROOT / "requirements.lock"
    if not lock.is_file():
        pytest.fail("requirements.lock is missing: the Dockerfile installs from it")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", lock.read_text(), re.M))
    pins = {k.lower().replace("_", "-"): v for k, v in pins.items()}
    runtime = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk",
               "apache-airflow-providers-celery", "apache-airflow-providers-postgres",
               "apache-airflow-providers-smtp", "apache-airflow-providers-standard",
               "apache-airflow-providers-common-sql", "celery", "kombu", "redis", "psycopg2-binary")
    differ = []
    for name in runtime:
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if name in pins and pins[name] != installed:
            differ.append(f"{name}: lock {pins[name]}, installed {installed}")
    assert not differ, "requirements.lock and the tested environment differ:\n" + "\n".join(differ)


# --- external validators, when available -------------------------------------------------------


def _compose_command() -> list[str] | None:
    """`docker compose` (plugin) or a v2 `docker-compose` binary, if one works offline."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cmd in candidates:
        try:
            out = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and re.match(r"v?[2-9]\.", out.stdout.strip()):
            return cmd
    return None


def test_docker_compose_config_accepts_the_file():
    cmd = _compose_command()
    if cmd is None:
        pytest.skip(
            "no Docker Compose v2 here: `docker compose version` fails (the docker client "
            "has no compose plugin) and there is no docker-compose v2 binary"
        )
    out = subprocess.run(
        [*cmd, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr


def _compose_spec_schema() -> dict | None:
    """The compose-spec JSON schema vendored by the check-jsonschema package (PyPI)."""
    import importlib.util

    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "builtin_schemas" / "vendor" / "compose-spec.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def test_compose_file_matches_the_compose_spec_schema(resolved):
    jsonschema = pytest.importorskip("jsonschema")
    schema = _compose_spec_schema()
    if schema is None:
        pytest.skip("the compose-spec schema comes from the check-jsonschema package, not installed")
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(resolved), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


@pytest.mark.slow
def test_init_script_creates_the_warehouse_on_a_real_postgresql():
    """Run include/docker/postgres-init.sql the way the postgres image does (psql -f)."""
    tools = {t: shutil.which(t) for t in ("initdb", "pg_ctl", "psql")}
    if not all(tools.values()):
        pytest.skip(f"PostgreSQL server binaries not on PATH: {[t for t, p in tools.items() if not p]}")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        prefix = ["runuser", "-u", "postgres", "--"]
    with tempfile.TemporaryDirectory(prefix="pginit-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o777)
        sql = base / "init.sql"
        sql.write_text(INIT_SQL.read_text(encoding="utf-8"), encoding="utf-8")
        os.chmod(sql, 0o644)
        data, sock, port = base / "data", str(base), "54329"

        def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
            return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=check)

        run(tools["initdb"], "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8")
        opts = f"-k {sock} -c listen_addresses= -p {port}"
        run(tools["pg_ctl"], "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
        try:
            psql = [tools["psql"], "-h", sock, "-p", port, "-U", "airflow", "--no-psqlrc", "-v", "ON_ERROR_STOP=1"]
            run(*psql, "-d", "postgres", "-c", "CREATE DATABASE airflow")
            run(*psql, "-d", "airflow", "-f", str(sql))
            out = run(*psql, "-d", "monitor", "-tAc", "SELECT current_database()")
            assert out.stdout.strip() == "monitor"
        finally:
            run(tools["pg_ctl"], "-D", str(data), "-m", "immediate", "stop", check=False)


# --- the same topology as processes on loopback -------------------------------------------------
#
# docs/deploy.md, "The loopback topology": every compose service becomes one process on
# 127.0.0.1 -- a throw-away PostgreSQL cluster (metadata + warehouse, made by the same
# init script), a Redis with a password, and the five Airflow components started with the
# commands from docker-compose.yaml and the environment it resolves to with .env.example
# (secrets generated as the docs say; service host names mapped to 127.0.0.1). Then the
# compose health checks themselves are run, and the real inbox DAG runs through Celery.


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loopback_env(resolved_doc: dict, ports: dict[str, int], secrets: dict[str, str], tmp: Path) -> dict[str, str]:
    env = env_mapping(resolved_doc["x-airflow-common"])
    replacements = {
        "@postgres:5432/": f"@127.0.0.1:{ports['postgres']}/",
        "@redis:6379/": f"@127.0.0.1:{ports['redis']}/",
        "http://airflow-apiserver:8080/": f"http://127.0.0.1:{ports['api']}/",
    }
    for key, value in env.items():
        for old, new in replacements.items():
            value = value.replace(old, new)
        env[key] = value
    env.update({
        # FAB is preinstalled in the image, not in the project's venv.
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ports['api']}",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports["scheduler_health"]),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_logs"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_logs"]),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "MONITOR_DATA_DIR": str(tmp / "data"),
        "MONITOR_STABLE_SECONDS": "0",
        "AIRFLOW_HOME": str(tmp / "airflow_home"),
        "HOME": str(tmp),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    })
    return env


@pytest.fixture(scope="module")
def loopback_stack(compose, tmp_path_factory):
    """The compose stack as processes on 127.0.0.1; yields (env, compose services, ports)."""
    import secrets as secrets_module
    import signal
    import time

    tools = {t: shutil.which(t) for t in ("initdb", "pg_ctl", "psql", "redis-server")}
    if not all(tools.values()):
        pytest.skip(f"not on PATH: {[t for t, p in tools.items() if not p]}")
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        prefix = ["runuser", "-u", "postgres", "--"]
    probe = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor"],
        env={"AIRFLOW_HOME": str(tmp_path_factory.mktemp("probe")), "PATH": os.environ.get("PATH", ""),
             **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {})},
        capture_output=True, text=True, timeout=300,
    )
    if probe.returncode != 0:
        pytest.skip("the CeleryExecutor does not import here (see test_the_celery_executor_imports)")
    from cryptography.fernet import Fernet

    # Not under pytest's tmp root: that is private to root and initdb runs as postgres.
    tmp = Path(tempfile.mkdtemp(prefix="compose-loopback-"))
    os.chmod(tmp, 0o777)
    ports = {name: _free_port() for name in
             ("postgres", "redis", "api", "scheduler_health", "worker_logs", "trigger_logs")}
    # "cp .env.example .env" and generate every secret, as docs/deploy.md says.
    dotenv = dict(parse_env_file(ENV_EXAMPLE)[0])
    generated = {
        "POSTGRES_PASSWORD": secrets_module.token_urlsafe(32),
        "REDIS_PASSWORD": secrets_module.token_urlsafe(32),
        "FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": secrets_module.token_urlsafe(64),
        "AIRFLOW_API_SECRET_KEY": secrets_module.token_urlsafe(64),
        "AIRFLOW_ADMIN_PASSWORD": secrets_module.token_urlsafe(18),
        "SMTP_PASSWORD": secrets_module.token_urlsafe(18),
        "SMTP_USER": "monitor@example.org",
        "MONITOR_DATA_HOST_DIR": str(tmp / "host"),
    }
    dotenv.update(generated)
    dotenv["AIRFLOW_CONN_MONITOR_WAREHOUSE"] = (
        f"postgresql://{dotenv['POSTGRES_USER']}:{generated['POSTGRES_PASSWORD']}@postgres:5432/monitor"
    )
    assert not [k for k, v in dotenv.items() if "CHANGE_ME" in v and k != "SMTP_USER"]
    doc = resolve(compose, dotenv)
    env = _loopback_env(doc, ports, generated, tmp)
    pg_user = env_mapping(doc["services"]["postgres"])["POSTGRES_USER"]
    pg_db = env_mapping(doc["services"]["postgres"])["POSTGRES_DB"]

    processes: list[subprocess.Popen] = []
    pg_data = tmp / "pg"
    log_dir = tmp / "logs"
    log_dir.mkdir()

    def run(args, check=True, as_postgres=False):
        out = subprocess.run([*(prefix if as_postgres else []), *args], capture_output=True, text=True,
                             timeout=300, env=env)
        assert not check or out.returncode == 0, f"{args}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        return out

    def start(name: str, args: list[str]) -> None:
        log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        processes.append(subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True, cwd=tmp))

    pg_started = False
    try:
        # postgres service: one server; POSTGRES_DB + the init script, as the image does.
        run([tools["initdb"], "-D", str(pg_data), "-U", pg_user, "--auth=trust", "-E", "UTF8"], as_postgres=True)
        run([tools["pg_ctl"], "-D", str(pg_data), "-l", str(tmp / "pg.log"), "-w", "-o",
             f"-c listen_addresses=127.0.0.1 -p {ports['postgres']} -k {tmp}", "start"], as_postgres=True)
        pg_started = True
        psql = [tools["psql"], "-h", "127.0.0.1", "-p", str(ports["postgres"]), "-U", pg_user,
                "--no-psqlrc", "-v", "ON_ERROR_STOP=1"]
        run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {pg_db}"])
        run([*psql, "-d", pg_db, "-f", str(INIT_SQL)])
        # redis service
        start("redis", [tools["redis-server"], "--bind", "127.0.0.1", "--port", str(ports["redis"]),
                        "--requirepass", generated["REDIS_PASSWORD"], "--save", "", "--appendonly", "no"])
        # airflow-init
        run(["airflow", "db", "migrate"])
        run([sys.executable, "-c", "from etl.core.config import DataDirs; DataDirs.from_env().ensure()"])
        # the long-running Airflow services, with their compose commands
        for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                     "airflow-triggerer", "airflow-worker"):
            args = ["airflow", *command_text(doc["services"][name]).split()]
            if name == "airflow-apiserver":
                args += ["-H", "127.0.0.1", "-p", str(ports["api"])]
            start(name, args)
        yield env, doc["services"], ports, log_dir
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 60
        for proc in processes:
            try:
                proc.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=30)
        if pg_started:
            run([tools["pg_ctl"], "-D", str(pg_data), "-m", "fast", "-w", "stop"], check=False, as_postgres=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _json_list(stdout: str) -> list | None:
    """The JSON list an `airflow ... -o json` command printed (log lines may precede it)."""
    for line in stdout.splitlines():
        if line.lstrip().startswith(("[{", "[]")):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _wait_for(check, what: str, log_dir: Path, limit: float = 300.0, detail=None):
    """Poll until check() is truthy; a readiness limit, not a speed assertion."""
    import time

    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(3)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in sorted(log_dir.glob("*.log")))
    extra = f"\n{detail()}" if detail else ""
    pytest.fail(f"{what} not reached within {limit:.0f} s{extra}\n{logs}")


@pytest.mark.slow
@pytest.mark.production
def test_loopback_stack_passes_the_compose_healthchecks(loopback_stack):
    import socket

    env, services, ports, log_dir = loopback_stack
    # Inside a container HOSTNAME is the container's name; here Airflow records its own
    # idea of the host name for its jobs and Celery names its node after the host name.
    airflow_host = subprocess.run(
        [sys.executable, "-c", "from airflow.utils.net import get_hostname; print(get_hostname())"],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    ).stdout.strip().splitlines()[-1]
    host_env = {"airflow-worker": socket.gethostname()}
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "airflow-worker"):
        test = services[name]["healthcheck"]["test"]
        command = (test[1] if len(test) == 2 else " ".join(test[1:])) if test[0] == "CMD-SHELL" else test[1:]
        if isinstance(command, str):
            command = command.replace("localhost:8080", f"127.0.0.1:{ports['api']}")
            args = ["bash", "-c", command]
        else:
            args = [c.replace("localhost:8080", f"127.0.0.1:{ports['api']}")
                     .replace("localhost:8974", f"127.0.0.1:{ports['scheduler_health']}") for c in command]
        check_env = {**env, "HOSTNAME": host_env.get(name, airflow_host)}

        def healthy(args=args, check_env=check_env):
            return subprocess.run(args, env=check_env, capture_output=True, text=True, timeout=120).returncode == 0

        _wait_for(healthy, f"{name} healthy ({' '.join(args)})", log_dir)


@pytest.mark.slow
@pytest.mark.production
def test_loopback_stack_parses_the_dags_and_reaches_its_connections(loopback_stack):
    """The DAGs parse in the stack, the documented back-fill resolves, both connections work.

    Running DAGs through Celery end to end is tests/production/test_loopback.py's job.
    """
    env, _, _, log_dir = loopback_stack

    def airflow(*args):
        return subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=300)

    def parsed():
        out = airflow("dags", "list", "-o", "json")
        ids = {d.get("dag_id") for d in (_json_list(out.stdout) or [])}
        return {"inbox_verwerking", "kwartaalrapportage"} <= ids

    _wait_for(parsed, "both DAGs parsed by the dag-processor", log_dir)
    # The back-fill of docs/deploy.md (dry run): the run of 5 October reports on Q3.
    dry = airflow("backfill", "create", "--dag-id", "kwartaalrapportage", "--from-date", "2024-10-01",
                  "--to-date", "2024-10-31", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "2024-10-05" in dry.stdout

    code = (
        "import json\n"
        "from airflow.providers.postgres.hooks.postgres import PostgresHook\n"
        "from airflow.providers.smtp.hooks.smtp import SmtpHook\n"
        "from airflow.sdk import BaseHook\n"
        "db = PostgresHook(postgres_conn_id='monitor_warehouse').get_first('SELECT current_database()')[0]\n"
        "hook = SmtpHook(smtp_conn_id='smtp_default')\n"
        "hook.conn = BaseHook.get_connection('smtp_default')\n"
        "print(json.dumps({'db': db, 'host': hook.host, 'port': hook.port, 'from': hook.from_email,\n"
        "                  'starttls': hook.smtp_starttls, 'ssl': hook.use_ssl}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    conns = json.loads(out.stdout.strip().splitlines()[-1])
    example = parse_env_file(ENV_EXAMPLE)[0]
    assert conns == {"db": "monitor", "host": example["SMTP_HOST"], "port": int(example["SMTP_PORT"]),
                     "from": example["SMTP_FROM"], "starttls": True, "ssl": False}
