"""The container set-up: docker-compose.yml, the Dockerfile, rabbitmq/ and .env.example.

No Docker engine runs here. Debian's ``docker-compose`` (1.29) validates and renders a compose file without
one, so the tests install it when it is missing, render the file with it and check what a container would be
given: every container command is the entry point ``make run`` starts (``service/run.py``), run here outside
Docker; the settings reach the containers; RabbitMQ's definitions match the URL the containers use.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import psycopg2
import pytest
import requests

from config.settings import Settings, without_settings
from service.processes import Child
from service.run import api_command, housekeeping_command, worker_command
from tests.harness import free_port, wait_until
from tests.private_services import PrivatePostgres, PrivateRabbitMQ
from tests.testbed import drop_database

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
MINIO_FILE = ROOT / "docker-compose.minio.yml"
REMOTE_FILE = ROOT / "docker-compose.remote-workers.yml"
WORKER_HOST_FILE = ROOT / "docker-compose.worker-host.yml"
STORE_CLIENTS = ("migrate", "api", "worker", "housekeeping")
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("migrate", "api", "worker", "housekeeping", "emulator")
# What `make env` would write: compose refuses to render without the four passwords.
TEST_SECRETS = {
    "POSTGRES_PASSWORD": "pg-super-Test1", "FACETASKS_DB_PASSWORD": "pg-app-Test2",
    "RABBITMQ_PASSWORD": "mq-app-Test3", "RABBITMQ_ADMIN_PASSWORD": "mq-admin-Test4",
}
STORAGE_DIR = "/data/images"

# The first test may install docker-compose with apt (about 20 s, more if the package lists need an update).
pytestmark = pytest.mark.timeout(900)


# ---------------------------------------------------------------------------------------------- helpers


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=120", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def _install_docker_compose() -> str:
    """The path of ``docker-compose``, installed from Debian's package when missing; skips if it cannot be."""
    found = shutil.which("docker-compose")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("docker-compose is missing and cannot be installed: no apt-get on this machine")
    if os.geteuid() != 0:
        pytest.skip("docker-compose is missing and cannot be installed: apt-get needs root, tests run unprivileged")
    install = _apt_get("install", "-y", "--no-install-recommends", "docker-compose")
    if install.returncode != 0:
        update = _apt_get("update")
        install = _apt_get("install", "-y", "--no-install-recommends", "docker-compose")
        if install.returncode != 0:
            pytest.skip(
                "docker-compose is missing and `apt-get install docker-compose` failed "
                f"(apt-get update exited {update.returncode}): {install.stderr.strip()[-500:]}"
            )
    found = shutil.which("docker-compose")
    if not found:
        pytest.skip("`apt-get install docker-compose` succeeded but no docker-compose is on PATH")
    return found


def _python_of(executable: str) -> list[str] | None:
    """The interpreter a Python script such as Debian's docker-compose runs with (it has PyYAML), or None."""
    with open(executable, "rb") as script:
        first = script.readline(200).decode(errors="replace")
    if first.startswith("#!") and "python" in first:
        return shlex.split(first[2:])
    return None


def _clean_env(variables: dict[str, str]) -> dict[str, str]:
    """Only what compose needs to run, plus ``variables``: no setting leaks in from the caller's shell."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL") if name in os.environ}
    env.update(variables)
    return env


def _seconds(duration: Any) -> float:
    """A compose duration (``60s``, ``1m0s``, ``1m30s``, ``500ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration))
    assert parts, f"not a duration: {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Mount target -> source, from compose 1.29's short strings or compose v2's long form."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[target] = source
    return mounts


def _ports(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host address, container port) of every published port, from compose 1.29's strings or v2's objects."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", "0.0.0.0"), int(port["target"])))
        else:
            parts = str(port).split("/")[0].split(":")
            ports.append((parts[0] if len(parts) == 3 else "0.0.0.0", int(parts[-1])))
    return ports


def _published_targets(service: dict[str, Any]) -> set[int]:
    targets = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            targets.add(int(port["target"]))
        else:
            targets.add(int(str(port).split(":")[-1].split("/")[0]))
    return targets


def _dockerfile_instruction(keyword: str) -> str:
    """The arguments of the last ``keyword`` instruction in the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = [line.strip()[len(keyword):].strip() for line in text.splitlines() if line.strip().startswith(keyword)]
    assert found, f"no {keyword} in the Dockerfile"
    return found[-1]


class Compose:
    """Runs docker-compose on the repository's compose file."""

    def __init__(self, executable: str, secrets_env_file: Path) -> None:
        self.executable = executable
        self.secrets_env_file = str(secrets_env_file)
        self._rendered: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    def config(self, env_file: str | None = None, files: tuple[Path, ...] = (COMPOSE_FILE,),
               **variables: str) -> dict[str, Any]:
        """The compose ``files`` as compose resolves them, with only ``env_file`` (by default: the test
        passwords) and ``variables`` set."""
        env_file = env_file or self.secrets_env_file
        key = (env_file, files, tuple(sorted(variables.items())))
        if key not in self._rendered:
            self._rendered[key] = self._render(env_file, files, variables)
        return self._rendered[key]

    def refusal(self, env_file: str, **variables: str) -> str:
        """What compose prints when it refuses to render the file with ``env_file`` and ``variables``."""
        done = self.run("--env-file", env_file, "-f", str(COMPOSE_FILE), "config", env=_clean_env(variables))
        assert done.returncode != 0, "compose accepted it"
        return done.stderr

    def _render(self, env_file: str, files: tuple[Path, ...], variables: dict[str, str]) -> dict[str, Any]:
        base = ["--env-file", env_file, *(arg for f in files for arg in ("-f", str(f))), "config"]
        python = _python_of(self.executable)
        if python is None:  # compose v2 (a Go binary) prints JSON itself
            done = self.run(*base, "--format", "json", env=_clean_env(variables))
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)
        done = self.run(*base, env=_clean_env(variables))
        assert done.returncode == 0, done.stderr
        # docker-compose 1.29 prints YAML only; its own interpreter has PyYAML (the project's venv need not).
        converted = subprocess.run(
            [*python, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
            input=done.stdout, capture_output=True, text=True, timeout=60, check=False,
        )
        assert converted.returncode == 0, converted.stderr
        return json.loads(converted.stdout)


class _RecordingEnv(dict):
    """An empty environment that notes every variable name it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.names.add(key)
        return default

    def __getitem__(self, key: str) -> Any:
        self.names.add(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.names.add(str(key))
        return False


def _settings_names() -> set[str]:
    env = _RecordingEnv()
    Settings.from_env(env)
    return env.names


def _python_m(command: list[str]) -> list[str]:
    """The arguments after the interpreter: containers say ``python``, ``make run`` says ``sys.executable``."""
    assert command[1] == "-m", command
    return command[1:]


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Compose:
    secrets_env = tmp_path_factory.mktemp("compose") / "secrets.env"
    secrets_env.write_text("".join(f"{name}={value}\n" for name, value in TEST_SECRETS.items()))
    return Compose(_install_docker_compose(), secrets_env)


@pytest.fixture(scope="module")
def services(compose: Compose) -> dict[str, dict[str, Any]]:
    return compose.config()["services"]


# ---------------------------------------------------------------------------------------------- the file


def test_the_compose_file_validates_with_docker_compose(compose: Compose) -> None:
    done = compose.run("--env-file", compose.secrets_env_file, "-f", "docker-compose.yml", "config", "-q",
                       env=_clean_env({}))
    assert done.returncode == 0, f"docker-compose config -q exited {done.returncode}:\n{done.stderr}"


def test_the_stack_has_its_services_and_the_emulator_starts_only_under_its_profile(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {"postgres", "rabbitmq", "migrate", "api", "worker", "housekeeping", "emulator"}
    # One image, built once (by migrate) and run by every app service.
    assert {services[name]["image"] for name in APP_SERVICES} == {"facetasks:local"}
    assert [name for name in APP_SERVICES if "build" in services[name]] == ["migrate"]
    assert services["emulator"]["profiles"] == ["facecloud-emulator"]
    assert [name for name, service in services.items() if service.get("profiles") and name != "emulator"] == []


def test_the_services_come_up_in_order_from_cold(services: dict[str, dict[str, Any]]) -> None:
    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    for name in ("api", "worker", "housekeeping"):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "rabbitmq": "service_healthy",
        }, name
        # Restarted if it exits anyway: the dramatiq CLI stops every worker process when one of them dies.
        assert services[name]["restart"] in ("unless-stopped", "always"), name
    assert services["migrate"].get("restart", "no") == "no"
    # Over TCP, as the application's role (the superuser may not log in over TCP).
    assert services["postgres"]["healthcheck"]["test"][1:] == ["pg_isready", "-h", "127.0.0.1", "-U", "facetasks",
                                                               "-d", "facetasks"]
    assert "rabbitmq-diagnostics -q ping" in " ".join(services["rabbitmq"]["healthcheck"]["test"])


def test_the_worker_scales_restarts_and_stops_gracefully(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert worker["restart"] == "unless-stopped"
    assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"
    # One detector call (FaceCloud times out after 30 s by default) and its commit fit in the grace period.
    assert _seconds(worker["stop_grace_period"]) >= 60
    assert worker.get("init") is True
    # The image's HEALTHCHECK probes the API's port, which a worker does not serve.
    assert worker["healthcheck"] in ({"test": ["NONE"]}, {"disable": True})


def test_api_and_workers_share_the_images_volume_and_default_to_the_local_detector(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("api", "worker"):
        service = services[name]
        assert _mounts(service)[STORAGE_DIR] == "images", name
        assert service["environment"]["STORAGE_DIR"] == STORAGE_DIR, name
        assert service["environment"]["DETECTOR"] == "local", name
    assert _published_targets(services["api"]) == {8080}
    assert _mounts(services["postgres"])["/var/lib/postgresql/data"] == "postgres-data"


# ---------------------------------------------------------------------------------------------- commands


def test_the_api_container_runs_the_command_make_run_starts(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    container_settings = Settings.from_env(api["environment"])
    assert (container_settings.host, container_settings.port) == ("0.0.0.0", 8080)
    assert api["command"][0] == "python"
    assert _python_m(api["command"]) == _python_m(api_command())
    # The image's default command is the same one.
    assert json.loads(_dockerfile_instruction("CMD")) == api["command"]


def test_the_worker_container_runs_the_command_make_run_starts_and_leaves_threads_to_the_settings(
    compose: Compose,
) -> None:
    for variables, threads in (({}, 2), ({"DETECTOR": "facecloud"}, 8), ({"WORKER_THREADS": "5"}, 5)):
        worker = compose.config(**variables)["services"]["worker"]
        assert worker["command"][0] == "python"
        assert _python_m(worker["command"]) == _python_m(worker_command()), variables
        assert not any("--threads" in part or "--processes" in part for part in worker["command"])
        container_settings = Settings.from_env(worker["environment"])
        assert (container_settings.worker_processes, container_settings.worker_threads) == (2, threads), variables


def test_the_migrate_housekeeping_and_emulator_containers_run_the_service_entry_points(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["migrate"]["command"] == ["python", "-m", "service.migrate"]
    assert services["housekeeping"]["command"][0] == "python"
    assert _python_m(services["housekeeping"]["command"]) == _python_m(housekeeping_command())
    assert services["emulator"]["command"] == [
        "python", "-m", "tools.emulator", "--host", "0.0.0.0", "--port", "8090"]
    assert _published_targets(services["emulator"]) == {8090}


def test_the_emulator_container_runs_the_development_tools_mounted_from_the_checkout(
    services: dict[str, dict[str, Any]],
) -> None:
    """The image holds what the service runs, not tools/: the emulator's container mounts tools/ read-only into
    the image's working directory, which ``python -m`` puts first on the path. So the emulator may import only
    the standard library, what the image installs (Pillow) and tools/ itself."""
    workdir = _dockerfile_instruction("WORKDIR")
    mounts = _mounts(services["emulator"])
    assert Path(mounts[f"{workdir}/tools"]).resolve() == ROOT / "tools"
    # Read-only: nothing in the container writes to the checkout.
    (tools_volume,) = services["emulator"]["volumes"]
    assert tools_volume.endswith(":ro") if isinstance(tools_volume, str) else tools_volume["read_only"]
    assert services["emulator"].get("working_dir", workdir) == workdir
    assert "COPY tools" not in (ROOT / "Dockerfile").read_text()
    ours = {path.parent.name for path in ROOT.glob("*/__init__.py")} | {"facetasks_client"}
    imported = set()
    for module in ("emulator", "emulator_faces"):
        tree = ast.parse((ROOT / "tools" / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert imported & ours == {"tools"}
    assert imported - ours - set(sys.stdlib_module_names) == {"PIL"}


def _run_migrate(services: dict[str, dict[str, Any]], database_url: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *_python_m(services["migrate"]["command"])]
    env = {**without_settings(os.environ), "DATABASE_URL": database_url}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def migrated_database(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """A database of this module's own, created and migrated by the migrate container's command."""
    name = f"facetasks_compose_{uuid.uuid4().hex[:8]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        first = _run_migrate(services, url)
        assert first.returncode == 0, first.stderr
        yield url, first.stderr
    finally:
        drop_database(name)


def test_the_migrate_command_creates_a_missing_database_and_is_safe_to_run_again(
    services: dict[str, dict[str, Any]], migrated_database: tuple[str, str],
) -> None:
    url, first_log = migrated_database
    assert f"created database {url.rsplit('/', 1)[1]}" in first_log
    again = _run_migrate(services, url)
    assert again.returncode == 0, again.stderr
    assert "migrations applied: none (up to date)" in again.stderr


@pytest.fixture
def api_port(migrated_database: tuple[str, str], vhost: str, tmp_path: Path) -> Iterator[int]:
    """The API started with ``api_command`` (the container's command, but on a free local port)."""
    port = free_port()
    env = {
        **without_settings(os.environ), "DATABASE_URL": migrated_database[0], "RABBITMQ_URL": vhost,
        "STORAGE_DIR": str(tmp_path), "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "error",
    }
    api = Child("api", api_command(), env, log=tmp_path / "api.log", cwd=ROOT).start()
    try:
        yield port
    finally:
        api.stop(grace_s=10)


def test_the_image_healthcheck_passes_against_the_api_command(api_port: int) -> None:
    healthcheck = _dockerfile_instruction("HEALTHCHECK")
    probe = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD"):].strip())
    assert probe[0] == "python" and "/health" in probe[-1] and "8080/" not in probe[-1]  # it follows PORT
    probe = [sys.executable, *probe[1:]]
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False,
                              env={**os.environ, "PORT": str(api_port)})
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert done.returncode == 0, done.stderr


def test_the_emulator_command_serves_facecloud(services: dict[str, dict[str, Any]]) -> None:
    args = _python_m(services["emulator"]["command"])
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--port") + 1] = "0"
    env = {**os.environ, "FACECLOUD_EMAIL": "compose@example.com", "FACECLOUD_PASSWORD": "compose-pass"}
    with subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            line = proc.stdout.readline()
            match = re.fullmatch(r"facecloud emulator listening on (http://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            credentials = {"email": "compose@example.com", "password": "compose-pass"}
            response = requests.post(f"{match.group(1)}/api/v1/login", json=credentials, timeout=5)
            assert response.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)


# ------------------------------------------------------------------------------ accounts, secrets and ports


def test_the_containers_use_the_application_accounts_made_from_the_environment_not_the_admins(
    services: dict[str, dict[str, Any]],
) -> None:
    urls = {services[name]["environment"]["RABBITMQ_URL"] for name in ("api", "worker", "housekeeping", "migrate")}
    assert len(urls) == 1
    url = urlsplit(urls.pop())
    user, password, vhost = unquote(url.username), unquote(url.password), unquote(url.path[1:])
    assert (url.hostname, url.port) == ("rabbitmq", 5672)
    broker = services["rabbitmq"]["environment"]
    assert (broker["RABBITMQ_APP_USER"], broker["RABBITMQ_PASSWORD"]) == (user, password)
    assert broker["RABBITMQ_ADMIN_USER"] != user and broker["RABBITMQ_ADMIN_PASSWORD"] != password
    assert password == TEST_SECRETS["RABBITMQ_PASSWORD"]

    definitions = json.loads((ROOT / "rabbitmq" / "definitions.json").read_text())
    assert definitions["vhosts"] == [{"name": vhost}]
    assert definitions["users"] == [] and definitions["permissions"] == []  # no user, no hash in the repository
    start = (ROOT / "rabbitmq" / "start.sh").read_text()
    assert f"VHOST={vhost}" in start
    # The application user: no tags (no console), permissions on its vhost only; the administrator apart.
    assert 'set_user_tags "$RABBITMQ_APP_USER"\n' in start
    assert 'set_permissions -p "$VHOST" "$RABBITMQ_APP_USER"' in start
    assert 'set_user_tags "$RABBITMQ_ADMIN_USER" administrator' in start
    assert "delete_user guest" in start
    assert services["rabbitmq"]["entrypoint"] == ["/etc/rabbitmq/start.sh"]

    database = urlsplit(services["api"]["environment"]["DATABASE_URL"])
    assert database.username == "facetasks" != "postgres"
    assert unquote(database.password) == TEST_SECRETS["FACETASKS_DB_PASSWORD"]


def test_no_password_has_a_default_in_the_compose_files_or_the_example(compose: Compose, tmp_path: Path) -> None:
    texts = {f.name: f.read_text() for f in (COMPOSE_FILE, MINIO_FILE, REMOTE_FILE, WORKER_HOST_FILE)}
    for name, text in texts.items():
        assert not re.search(r"PASSWORD:-[^}]", text), name  # ${X_PASSWORD:-default}
        assert not re.search(r"PASSWORD: (?!\$\{)", text), name  # a literal value
    example = ENV_EXAMPLE.read_text()
    assert re.findall(r"^(\w*PASSWORD)=(.+)$", example, re.MULTILINE) == []  # every one empty
    refusal = compose.refusal(str(ENV_EXAMPLE))
    assert "PASSWORD" in refusal and "make env" in refusal


def test_published_ports_listen_on_this_host_only_unless_told_and_amqp_and_postgres_not_at_all(
    compose: Compose,
) -> None:
    for bind, variables in (("127.0.0.1", {}), ("10.1.2.3", {"FACETASKS_BIND": "10.1.2.3"})):
        services = compose.config(**variables)["services"]
        published = {(name, target): host for name, service in services.items() for host, target in _ports(service)}
        assert published and set(published.values()) == {bind}, published
        assert ("rabbitmq", 5672) not in published and ("postgres", 5432) not in published


def test_the_minio_override_keeps_the_images_in_a_bucket_it_creates_before_any_app_service_starts(
    compose: Compose,
) -> None:
    services = compose.config(files=(COMPOSE_FILE, MINIO_FILE), MINIO_ROOT_PASSWORD="minio-Test5")["services"]

    assert re.fullmatch(r"minio/minio:RELEASE\.[\dT-]+Z", services["minio"]["image"])
    assert re.fullmatch(r"minio/mc:RELEASE\.[\dT-]+Z", services["minio-init"]["image"])
    assert "mc mb --ignore-existing" in " ".join(services["minio-init"]["command"])
    assert services["minio-init"]["environment"]["MINIO_BUCKET"] == "facetasks"
    for name in STORE_CLIENTS:
        environment = services[name]["environment"]
        assert (environment["STORAGE_URL"], environment["S3_ENDPOINT_URL"]) == (
            "s3://facetasks/images", "http://minio:9000"), name
        assert (environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]) == (
            "facetasks", "minio-Test5"), name
        assert Settings.from_env(environment).image_store_url == "s3://facetasks/images", name
    for name in ("api", "worker", "housekeeping"):
        assert services[name]["depends_on"]["minio-init"] == {"condition": "service_completed_successfully"}, name
    assert {host for host, _ in _ports(services["minio"])} == {"127.0.0.1"}


def test_the_remote_workers_override_publishes_amqps_postgres_and_s3_over_tls_on_the_address_it_is_given(
    compose: Compose,
) -> None:
    files = (COMPOSE_FILE, MINIO_FILE, REMOTE_FILE)
    services = compose.config(files=files, REMOTE_BIND="192.168.5.1", MINIO_ROOT_PASSWORD="minio-Test5")["services"]

    remote = {(name, target) for name, service in services.items() for host, target in _ports(service)
              if host == "192.168.5.1"}
    assert remote == {("rabbitmq", 5671), ("postgres", 5432), ("minio", 9000)}
    assert ("rabbitmq", 5672) not in {(n, t) for n, svc in services.items() for _, t in _ports(svc)}
    postgres = " ".join(services["postgres"]["command"])
    assert "ssl=on" in postgres and "hba_file=/etc/postgresql/pg_hba-tls.conf" in postgres
    hba = (ROOT / "postgres" / "pg_hba-tls.conf").read_text()
    assert re.findall(r"^(host\w*)\s+all\s+all\s+(\S+)", hba, re.MULTILINE) == [
        ("host", "127.0.0.1/32"), ("hostssl", "all")]  # no plain TCP from outside the container
    assert "/etc/rabbitmq/conf.d/90-tls.conf" in _mounts(services["rabbitmq"])
    assert "listeners.ssl.default = 5671" in (ROOT / "rabbitmq" / "tls.conf").read_text()
    assert "--certs-dir" in services["minio"]["command"]
    for name in STORE_CLIENTS:
        environment = services[name]["environment"]
        assert environment["S3_ENDPOINT_URL"] == "https://minio:9000", name
        assert environment["AWS_CA_BUNDLE"] == "/etc/facetasks-tls/ca.pem", name


def test_a_worker_host_gets_three_addresses_over_verified_tls_and_shares_no_volume(compose: Compose) -> None:
    variables = {"FACETASKS_HOST": "main.example.internal", "FACETASKS_DB_PASSWORD": "pg-app-Test2",
                 "RABBITMQ_PASSWORD": "mq-app-Test3", "AWS_SECRET_ACCESS_KEY": "minio-Test5",
                 "S3_ENDPOINT_URL": "https://main.example.internal:9000"}
    services = compose.config(files=(WORKER_HOST_FILE,), **variables)["services"]

    assert list(services) == ["worker"]
    worker = services["worker"]
    assert _mounts(worker) == {"/etc/facetasks-tls/ca.pem": str(ROOT / "tls" / "ca.pem")}
    assert _python_m(worker["command"]) == _python_m(worker_command())
    environment = worker["environment"]
    database = urlsplit(environment["DATABASE_URL"])
    assert (database.hostname, database.query) == (
        "main.example.internal", "sslmode=verify-full&sslrootcert=/etc/facetasks-tls/ca.pem")
    broker = urlsplit(environment["RABBITMQ_URL"])
    assert (broker.scheme, broker.hostname, broker.port) == ("amqps", "main.example.internal", 5671)
    assert environment["RABBITMQ_CA_FILE"] == environment["AWS_CA_BUNDLE"] == "/etc/facetasks-tls/ca.pem"
    assert (environment["STORAGE_URL"], environment["S3_ENDPOINT_URL"]) == (
        "s3://facetasks/images", "https://main.example.internal:9000")


def test_make_env_fills_every_password_with_a_random_url_safe_value_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(ENV_EXAMPLE.read_text())
    run = [sys.executable, "-m", "service.envfile", str(tmp_path)]
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    written = (tmp_path / ".env").read_text()
    again = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)

    assert first.returncode == 0 and again.returncode == 1 and (tmp_path / ".env").read_text() == written
    values = {name: value for name, value in re.findall(r"^(\w*PASSWORD)=(.*)$", written, re.MULTILINE)
              if name in TEST_SECRETS}
    assert set(values) == set(TEST_SECRETS)
    assert all(re.fullmatch(r"[\w-]{32}", v) for v in values.values()) and len(set(values.values())) == 4
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"


def test_git_ignores_the_secret_files_make_env_and_the_tls_override_create() -> None:
    secrets = [".env", "tls/server.key", "tls/server.pem", "tls/ca.pem", "client.key"]
    checked = subprocess.run(["git", "check-ignore", "--no-index", *secrets], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=False)

    assert checked.stdout.split() == secrets
    assert subprocess.run(["git", "check-ignore", "-q", "--no-index", ".env.example"], cwd=ROOT,
                          timeout=30, check=False).returncode == 1


# ---------------------------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def initialised_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own, set up as the postgres image sets one up at its first start:
    the socket trusted, TCP by password (scram-sha-256), then postgres/initdb/10-facetasks.sh run as the
    server's user with the image's variables."""
    cluster = PrivatePostgres()
    try:
        cluster.create()
        data = cluster.folder / "data"
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all all scram-sha-256\n")
        env = {"PATH": os.environ["PATH"], "POSTGRES_USER": "postgres", "PGDATA": str(data),
               "PGHOST": str(cluster.folder), "PGPORT": str(cluster.port),
               "FACETASKS_DB_PASSWORD": TEST_SECRETS["FACETASKS_DB_PASSWORD"]}
        # Handed on stdin: the server's user may not be able to read a checkout under a private folder.
        script = (ROOT / "postgres" / "initdb" / "10-facetasks.sh").read_text()
        init = subprocess.run(["sh", "-s"], input=script, env=env, user=cluster.user, cwd=cluster.folder,
                              capture_output=True, text=True, timeout=60, check=False)
        assert init.returncode == 0, init.stderr
        with psycopg2.connect(dbname="postgres", user="postgres", host=str(cluster.folder), port=cluster.port) as c:
            c.cursor().execute("SELECT pg_reload_conf()")
        yield cluster
    finally:
        cluster.destroy()


def test_the_first_start_makes_a_role_that_owns_its_database_is_no_superuser_and_runs_the_migrations(
    services: dict[str, dict[str, Any]], initialised_postgres: PrivatePostgres,
) -> None:
    cluster = initialised_postgres
    password = TEST_SECRETS["FACETASKS_DB_PASSWORD"]
    # The containers' DATABASE_URL, pointed at this cluster.
    url = urlsplit(services["api"]["environment"]["DATABASE_URL"])._replace(
        netloc=f"facetasks:{password}@127.0.0.1:{cluster.port}").geturl()
    done = _run_migrate(services, url)
    assert done.returncode == 0, done.stderr
    assert "migrations applied: 0001" in done.stderr

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (False, False, False)
        cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert cur.fetchone() == ("facetasks",)
        cur.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchall() == [("facetasks",)]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(url.replace(password, "not-the-password")).close()
    # The superuser: through the socket only, never over TCP.
    with pytest.raises(psycopg2.OperationalError, match=r"pg_hba\.conf rejects"):
        psycopg2.connect(cluster.url().replace("postgres@", f"postgres:{TEST_SECRETS['POSTGRES_PASSWORD']}@")).close()
    psycopg2.connect(dbname="postgres", user="postgres", host=str(cluster.folder), port=cluster.port).close()


# ---------------------------------------------------------------------------------------------- RabbitMQ


def _broker_env(node: PrivateRabbitMQ, tmp_path: Path, **passwords: str) -> dict[str, str]:
    """rabbitmq/start.sh's environment as docker-compose.yml gives it, for a node of the test's own."""
    shim = tmp_path / "bin"
    if not shim.exists():
        shim.mkdir()
        # How the image's entrypoint ends (after its chown and gosu): the command it was given.
        (shim / "docker-entrypoint.sh").write_text('#!/bin/sh\nexec "$@"\n')
        (shim / "docker-entrypoint.sh").chmod(0o755)
    return {
        **node.env,
        # The server scripts themselves: /usr/sbin's wrappers would switch user and drop the node's variables.
        "PATH": f"{shim}:/usr/lib/rabbitmq/bin:{os.environ['PATH']}",
        "FACETASKS_USERS_READY": str(tmp_path / "users-ready"),
        "RABBITMQ_APP_USER": "facetasks", "RABBITMQ_ADMIN_USER": "admin", **passwords,
    }


def _start_broker(node: PrivateRabbitMQ, env: dict[str, str], log: Path) -> Child:
    ready = Path(env["FACETASKS_USERS_READY"])
    ready.unlink(missing_ok=True)  # the previous start's: start.sh removes it too, but maybe after the first look
    broker = Child("start.sh", ["sh", str(ROOT / "rabbitmq" / "start.sh")], env, log=log, cwd=node.folder).start()
    wait_until(ready.exists, 180, "rabbitmq/start.sh to set the users", broker, poll_s=0.2)
    return broker


def _amqp_login(node: PrivateRabbitMQ, user: str, password: str) -> bool:
    url = f"amqp://{user}:{password}@127.0.0.1:{node.port}/facetasks?connection_attempts=1&socket_timeout=5"
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except pika.exceptions.AMQPError:
        return False
    return True


def _ctl(env: dict[str, str], *args: str) -> list[list[str]]:
    done = subprocess.run(["rabbitmqctl", "-q", *args, "--no-table-headers"], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


@pytest.fixture
def broker_node() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of the test's own (never the shared one), configured like the container's: the vhost
    imported from rabbitmq/definitions.json. Not started: rabbitmq/start.sh starts it."""
    node = PrivateRabbitMQ()
    with (node.folder / "rabbitmq.conf").open("a") as conf:
        conf.write("definitions.import_backend = local_filesystem\n"
                   f"definitions.local.path = {ROOT / 'rabbitmq' / 'definitions.json'}\n")
    node.epmd.start()
    try:
        yield node
    finally:
        node.destroy()


def test_the_broker_users_follow_the_environment_at_every_start_and_the_application_user_is_no_admin(
    broker_node: PrivateRabbitMQ, tmp_path: Path,
) -> None:
    node = broker_node
    first = _broker_env(node, tmp_path, RABBITMQ_PASSWORD="app-First_1", RABBITMQ_ADMIN_PASSWORD="admin-First.2")
    broker = _start_broker(node, first, tmp_path / "first.log")
    try:
        assert _amqp_login(node, "facetasks", "app-First_1") and _amqp_login(node, "admin", "admin-First.2")
        assert not _amqp_login(node, "guest", "guest")
        assert sorted(_ctl(first, "list_users")) == [["admin", "[administrator]"], ["facetasks", "[]"]]
        assert _ctl(first, "list_user_permissions", "facetasks") == [["facetasks", ".*", ".*", ".*"]]
    finally:
        assert broker.stop(60) is not None

    # New passwords in the environment, the same node and data: what `up -d` does after .env changed.
    second = _broker_env(node, tmp_path, RABBITMQ_PASSWORD="app-Second_3", RABBITMQ_ADMIN_PASSWORD="admin-Second.4")
    broker = _start_broker(node, second, tmp_path / "second.log")
    try:
        assert _amqp_login(node, "facetasks", "app-Second_3") and _amqp_login(node, "admin", "admin-Second.4")
        assert not _amqp_login(node, "facetasks", "app-First_1") and not _amqp_login(node, "admin", "admin-First.2")
        assert sorted(_ctl(second, "list_users")) == [["admin", "[administrator]"], ["facetasks", "[]"]]
    finally:
        broker.stop(60)


def test_the_broker_refuses_to_start_naming_a_missing_or_unusable_password(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RABBITMQ_APP_USER": "facetasks",
           "RABBITMQ_ADMIN_USER": "admin", "RABBITMQ_ADMIN_PASSWORD": "admin-pass",
           "FACETASKS_USERS_READY": str(tmp_path / "ready")}
    start = ["sh", str(ROOT / "rabbitmq" / "start.sh")]
    for password, said in ((None, "RABBITMQ_PASSWORD"), ("", "RABBITMQ_PASSWORD"),
                           ("p@ss/word", "RABBITMQ_PASSWORD may hold only letters, digits and - _ . ~")):
        given = env if password is None else {**env, "RABBITMQ_PASSWORD": password}
        done = subprocess.run(start, env=given, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode != 0 and said in done.stderr, (password, done.stderr)
        assert "docker-entrypoint.sh" not in done.stderr  # refused before anything started
    # What `make env` writes passes, and the script goes on to start the server (not here: no image).
    done = subprocess.run(start, env={**env, "RABBITMQ_PASSWORD": "aZ09-_.~"}, capture_output=True, text=True,
                          timeout=30, check=False)
    assert "docker-entrypoint.sh" in done.stderr and "may hold only" not in done.stderr


def test_rabbitmq_is_configured_from_the_mounted_files_with_the_console_and_prometheus(
    services: dict[str, dict[str, Any]],
) -> None:
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["image"].startswith("rabbitmq:3.13") and rabbitmq["image"].endswith("-management")
    assert _published_targets(rabbitmq) == {15672, 15692}
    mounts = _mounts(rabbitmq)
    for name in ("rabbitmq.conf", "definitions.json", "enabled_plugins", "start.sh"):
        assert Path(mounts[f"/etc/rabbitmq/{name}"]).resolve() == ROOT / "rabbitmq" / name

    conf = {}
    for line in (ROOT / "rabbitmq" / "rabbitmq.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            conf[key] = value
    definitions_path = conf.get("definitions.local.path") or conf.get("load_definitions")
    assert definitions_path == "/etc/rabbitmq/definitions.json"
    assert int(conf.get("consumer_timeout", 1_800_000)) == 1_800_000
    assert conf["management.tcp.port"] == "15672"

    plugins = (ROOT / "rabbitmq" / "enabled_plugins").read_text()
    match = re.fullmatch(r"\s*\[([\w,\s]*)\]\.\s*", plugins)
    assert match, plugins
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= {p.strip() for p in match.group(1).split(",")}


# ---------------------------------------------------------------------------------------------- settings


def test_every_setting_the_service_reads_is_in_env_example_and_reaches_the_app_containers(
    services: dict[str, dict[str, Any]],
) -> None:
    names = _settings_names()
    assert {"DATABASE_URL", "RABBITMQ_URL", "DETECTOR", "LOG_LEVEL"} <= names  # the recorder works
    example = ENV_EXAMPLE.read_text()
    missing = sorted(name for name in names if not re.search(rf"^#?\s*{name}=", example, re.MULTILINE))
    assert missing == [], f"not in .env.example: {missing}"
    for service in ("migrate", "api", "worker"):
        absent = sorted(names - set(services[service]["environment"]))
        assert absent == [], f"not passed to the {service} container: {absent}"


def test_the_example_env_file_with_its_passwords_set_keeps_the_service_defaults(
    compose: Compose, tmp_path: Path,
) -> None:
    example = ENV_EXAMPLE.read_text()
    for name, value in TEST_SECRETS.items():
        example = example.replace(f"\n{name}=\n", f"\n{name}={value}\n")
    filled = tmp_path / "example.env"
    filled.write_text(example)
    with_example = compose.config(env_file=str(filled))["services"]
    without = compose.config()["services"]
    for name in ("api", "worker"):
        assert Settings.from_env(with_example[name]["environment"]) == Settings.from_env(
            without[name]["environment"]
        ), name


def test_the_image_runs_unprivileged_on_a_pinned_python_311_slim_without_installers() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}\s*$", dockerfile, re.MULTILINE)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.MULTILINE)
    assert _dockerfile_instruction("USER") not in ("", "root", "0")
    assert "STORAGE_DIR=/data/images" in dockerfile
    assert _dockerfile_instruction("EXPOSE") == "8080"
    # Dependencies are installed from the lock alone, hashes checked, in the build stage; the sources reach the
    # runtime stage only, beside the virtualenv, and nothing installs them (pyproject.toml is not even copied).
    assert "pip install --require-hashes --only-binary=:all: -r requirements.lock" in dockerfile
    build, runtime = dockerfile.split("FROM ${PYTHON_IMAGE}", 2)[1:]
    assert "COPY requirements.lock" in build and "COPY api" not in build
    assert "COPY --from=build /opt/venv /opt/venv" in runtime and "COPY api" in runtime
    assert "COPY pyproject.toml" not in dockerfile
    assert "pip uninstall --yes pip setuptools wheel" in runtime



def test_the_image_runs_every_package_the_import_contract_orders_from_its_tree_and_pyproject_installs_none() -> None:
    """A package added to the layers (config, reach, representations...) must reach the image too, in the tree
    the image's PYTHONPATH names: pyproject.toml installs the service's dependencies only (no package of generic
    name in site-packages; tests/test_install.py). The command line is a distribution of its own
    (client/pyproject.toml), in the contracts but not in the image; the development tools (tools/) are in the
    contracts (nothing that ships imports them) but not in the image."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layered = set(pyproject["tool"]["importlinter"]["root_packages"])
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"bench", "tools"}
    (tree,) = re.findall(r"\bPYTHONPATH=(\S+)", _dockerfile_instruction("ENV"))
    copied = set(re.findall(r"^COPY (\w+) (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())
    client_packages = set(client["tool"]["setuptools"]["packages"])
    assert client_packages == {path.parent.name for path in ROOT.glob("client/*/__init__.py")} == {"facetasks_client"}
    assert pyproject["tool"]["setuptools"]["packages"] == []
    assert layered == packages | client_packages | {"tools"}
    assert copied == {(name, f"{tree}/{name}") for name in packages}
    # Two forbidden contracts keep the client and the service apart, each naming every package of the other; the
    # third keeps both from the development tools.
    forbidden = [(frozenset(c["source_modules"]), frozenset(c["forbidden_modules"]))
                 for c in pyproject["tool"]["importlinter"]["contracts"] if c["type"] == "forbidden"]
    client_side, service_side = frozenset(client_packages), frozenset(packages)
    assert len(forbidden) == 3 and set(forbidden) == {
        (client_side, service_side), (service_side, client_side), (client_side | service_side, frozenset({"tools"}))}
    # The service declares no console script; the client's is `facetasks`.
    assert "scripts" not in pyproject["project"]
    assert client["project"]["scripts"] == {"facetasks": "facetasks_client.cli:main"}
    assert sorted(client["project"]["dependencies"]) == ["requests>=2.31,<3", "tqdm>=4.66,<5"]


def test_the_base_images_are_pinned_releases_that_env_can_override(compose: Compose) -> None:
    def base_images(services: dict[str, dict[str, Any]]) -> dict[str, str]:
        return {"PYTHON_IMAGE": services["migrate"]["build"]["args"]["PYTHON_IMAGE"],
                "POSTGRES_IMAGE": services["postgres"]["image"], "RABBITMQ_IMAGE": services["rabbitmq"]["image"]}

    defaults = base_images(compose.config()["services"])
    for name, image in defaults.items():
        assert re.fullmatch(r"(python|postgres|rabbitmq):\d+\.\d+(\.\d+)?-[\w-]+", image), (name, image)
    # The Dockerfile's own default is compose's, and .env.example shows the same ones (commented out).
    assert re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[1] == (
        defaults["PYTHON_IMAGE"])
    assert dict(re.findall(r"^# (\w+_IMAGE)=(\S+)$", ENV_EXAMPLE.read_text(), re.MULTILINE)) == defaults
    pinned = {name: f"mirror.example/{image}@sha256:{'0' * 64}" for name, image in defaults.items()}
    assert base_images(compose.config(**pinned)["services"]) == pinned


def test_the_database_url_of_the_containers_points_at_the_postgres_service(
    services: dict[str, dict[str, Any]],
) -> None:
    url = urlsplit(services["api"]["environment"]["DATABASE_URL"])
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/facetasks")
    assert unquote(url.password) == services["postgres"]["environment"]["FACETASKS_DB_PASSWORD"]
    urls = {services[name]["environment"]["DATABASE_URL"] for name in ("migrate", "api", "worker", "housekeeping")}
    assert len(urls) == 1
