"""`python -m service.run` given a configuration that cannot work stops at once with one line saying what to
change, instead of starting and failing for ever (real PostgreSQL and RabbitMQ; a private cluster for the
role that may not create its database)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from config.settings import without_settings
from tests.conftest import DATABASE_URL, RABBITMQ_URL, ROOT
from tests.harness import free_port
from tests.private_services import PrivatePostgres

# A few seconds at most: every check is one connection (or one bind) that is refused at once.
STOPS_WITHIN_S = 30
# The tests' own vhost exists, so that only the setting a test breaks is wrong.
pytestmark = pytest.mark.usefixtures("vhost")
LOGGED = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?:\[\d+\] )?(?P<logger>\S+)(?: -)?: (?P<message>.*)$")


def run_service(tmp_path: Path, **settings: str) -> tuple[int, list[str]]:
    """The exit code of `python -m service.run` and the messages of the lines it logged."""
    env = {**without_settings(os.environ), "DATABASE_URL": DATABASE_URL, "RABBITMQ_URL": RABBITMQ_URL,
           "STORAGE_DIR": str(tmp_path / "images"), "HOST": "127.0.0.1", "PORT": str(free_port()), **settings}
    ended = subprocess.run([sys.executable, "-m", "service.run"], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=STOPS_WITHIN_S)
    assert "Traceback" not in ended.stderr, ended.stderr
    return ended.returncode, [LOGGED.match(line)["message"] for line in ended.stderr.splitlines()]


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_port_another_program_holds_stops_the_service_at_once_naming_the_port_and_the_setting(tmp_path, listener):
    code, lines = run_service(tmp_path, PORT=str(listener))

    assert code == 2
    assert lines == [f"PORT {listener} is taken: another program listens on 127.0.0.1:{listener}; stop it, "
                     f"or set PORT to a free port (PORT={listener + 1} make run)"]


def test_a_host_that_is_not_this_machine_stops_the_service_naming_the_setting(tmp_path):
    code, lines = run_service(tmp_path, HOST="192.0.2.1")

    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("cannot listen on 192.0.2.1:") and lines[0].endswith(
        "(HOST, PORT): Cannot assign requested address")


def test_a_rabbitmq_vhost_that_does_not_exist_stops_the_service_with_the_command_that_creates_it(tmp_path):
    code, lines = run_service(tmp_path, RABBITMQ_URL="amqp://guest:guest@127.0.0.1:5672/facetasks-nowhere")

    assert code == 2
    assert lines == ["RabbitMQ at 127.0.0.1:5672 has no vhost facetasks-nowhere (RABBITMQ_URL); create it: "
                     "rabbitmqctl add_vhost facetasks-nowhere && "
                     "rabbitmqctl set_permissions -p facetasks-nowhere guest '.*' '.*' '.*'"]


def test_credentials_rabbitmq_refuses_stop_the_service_saying_how_to_fix_them(tmp_path):
    code, lines = run_service(tmp_path, RABBITMQ_URL="amqp://guest:wrong@127.0.0.1:5672/%2F")

    assert code == 2
    assert lines == ["RabbitMQ at 127.0.0.1:5672 refused the login of user guest (RABBITMQ_URL); correct the user "
                     "and password in RABBITMQ_URL, or create the user: rabbitmqctl add_user guest PASSWORD && "
                     "rabbitmqctl set_permissions -p / guest '.*' '.*' '.*'"]


def test_a_postgresql_role_that_does_not_exist_stops_the_service_with_the_command_that_creates_it(tmp_path):
    code, lines = run_service(tmp_path, DATABASE_URL="postgresql://facetasks_nobody@127.0.0.1:5432/facetasks_x")

    assert code == 2
    assert lines == ['PostgreSQL at 127.0.0.1:5432 refused role facetasks_nobody: role "facetasks_nobody" does not '
                     "exist (DATABASE_URL); create the role as a superuser: "
                     "sudo -u postgres createuser --createdb facetasks_nobody"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    """A cluster of the test's own with a role that may log in but not create databases."""
    private = PrivatePostgres().create()
    with psycopg2.connect(private.url()) as conn, conn.cursor() as cur:
        cur.execute("CREATE ROLE plain LOGIN NOCREATEDB")
    yield private
    private.destroy()


def test_a_database_the_role_may_not_create_stops_the_service_with_exit_2_and_the_command_that_creates_it(
    tmp_path, cluster
):
    code, lines = run_service(tmp_path, DATABASE_URL=f"postgresql://plain@127.0.0.1:{cluster.port}/photos")

    assert code == 2
    assert lines[-1] == (f"PostgreSQL at 127.0.0.1:{cluster.port}: role plain may not create the database photos: "
                         "permission denied to create database (DATABASE_URL); create it as a superuser: "
                         "sudo -u postgres createdb -O plain photos")
    assert "ERROR" not in "".join(lines[:-1])


def test_a_postgresql_that_does_not_answer_stops_the_service_in_one_line(tmp_path):
    port = free_port()

    code, lines = run_service(tmp_path, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/facetasks")

    assert code == 1
    assert lines == [f'PostgreSQL at 127.0.0.1:{port} does not answer: connection to server at "127.0.0.1", '
                     f"port {port} failed: Connection refused (DATABASE_URL); start it, or correct the host and port"]


def test_a_database_the_role_may_not_connect_to_stops_the_service_with_the_grant_that_allows_it(tmp_path, cluster):
    conn = psycopg2.connect(cluster.url())
    conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE closed")
        cur.execute("REVOKE CONNECT ON DATABASE closed FROM PUBLIC")
    conn.close()

    code, lines = run_service(tmp_path, DATABASE_URL=f"postgresql://plain@127.0.0.1:{cluster.port}/closed")

    assert code == 2
    assert lines == [f'PostgreSQL at 127.0.0.1:{cluster.port} refused role plain: permission denied for database '
                     '"closed" (DATABASE_URL); grant it as a superuser: GRANT CONNECT ON DATABASE closed TO plain']
