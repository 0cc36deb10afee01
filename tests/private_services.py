"""A PostgreSQL cluster and a RabbitMQ node of the tests' own, for the tests that take them down.

The machine's PostgreSQL and RabbitMQ are shared with whatever else runs there, so a test that
needs an outage starts a throwaway instance on free ports, stops and starts it at will, and removes
it at the end. Each runs as a ``service.processes.Child``: in a session of its own and signalled
when the test run dies, however it dies, so none outlives the run.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from glob import glob
from pathlib import Path

import pika
import psycopg2

from service.processes import Child
from tests.certificates import ServerCertificate
from tests.harness import Restartable, free_port, wait_until

# Seconds an instance gets to start, and to stop before it is killed.
START_S = 60
STOP_S = 30


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian's layout: /usr/lib/postgresql/<major>/bin)."""
    found = glob("/usr/lib/postgresql/*/bin/postgres")
    if not found:
        raise RuntimeError("no PostgreSQL server programs under /usr/lib/postgresql/*/bin")
    return Path(max(found, key=lambda path: int(re.search(r"/(\d+)/bin/", path).group(1)))).parent


class PrivatePostgres(Restartable):
    """``initdb`` + ``postgres`` on 127.0.0.1 and a free port, in a fresh folder; trust auth, user postgres.

    initdb refuses to run as root: as root, the cluster belongs to (and runs as) the postgres user.
    With ``tls``, TCP clients must use TLS (``hostssl`` only) and are shown that certificate.
    """

    def __init__(self, tls: ServerCertificate | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="facetasks-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        self.tls = tls
        self.account = pwd.getpwnam(self.user) if self.user else None
        if self.account:
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)
        self.port = free_port()
        self.bin = _postgres_bin()
        self.server: Child | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create(self) -> PrivatePostgres:
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            user=self.user, cwd=self.folder, check=True, capture_output=True, timeout=START_S,
        )
        if self.tls:
            self._require_tls()
        return self.start()

    def _require_tls(self) -> None:
        data = self.folder / "data"
        (data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
                                          "hostssl all all ::1/128 trust\n")
        # The server reads its key only if its own user owns it and nobody else may read it.
        for source, name in ((self.tls.cert_file, "server.crt"), (self.tls.key_file, "server.key")):
            target = data / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            if self.account:
                os.chown(target, self.account.pw_uid, self.account.pw_gid)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")

    def start(self) -> PrivatePostgres:
        command = [
            str(self.bin / "postgres"), "-D", str(self.folder / "data"), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
            # Throwaway data: no durability needed, and little memory on a shared machine.
            "-c", "fsync=off", "-c", "shared_buffers=32MB", "-c", "max_connections=100",
        ]
        # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to leave.
        self.server = Child("postgres", command, log=self.folder / "postgres.log", cwd=self.folder,
                            user=self.user, death_signal=signal.SIGINT).start()
        wait_until(self._answers, START_S, "the private PostgreSQL start", self.server)
        return self

    def _answers(self) -> bool:
        try:
            psycopg2.connect(self.url(), connect_timeout=1).close()
        except psycopg2.OperationalError:
            return False
        return True

    def stop(self) -> None:
        """A fast shutdown: open sessions are ended, the port closes."""
        if self.server and self.server.running:
            self.server.send(signal.SIGINT)
            if self.server.wait(STOP_S) is None:
                self.server.kill()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRabbitMQ(Restartable):
    """A RabbitMQ node of its own: node name, AMQP and distribution ports, data, logs, Erlang cookie
    and port mapper (epmd) all private; no plugins (no management). guest/guest from 127.0.0.1.
    With ``tls``, it also listens for amqps:// on ``tls_port`` with that certificate."""

    def __init__(self, tls: ServerCertificate | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="facetasks-rabbitmq-"))
        self.port, dist_port, epmd_port = free_port(), free_port(), free_port()
        conf = f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
        self.tls_port = free_port() if tls else None
        if tls:
            conf += (f"listeners.ssl.default = 127.0.0.1:{self.tls_port}\nssl_options.cacertfile = {tls.ca_file}\n"
                     f"ssl_options.certfile = {tls.cert_file}\nssl_options.keyfile = {tls.key_file}\n"
                     "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n")
        (self.folder / "rabbitmq.conf").write_text(conf)
        (self.folder / "enabled_plugins").write_text("[].\n")
        # Read instead of /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
        (self.folder / "rabbitmq-env.conf").write_text("")
        self.env = {
            **os.environ,
            # The Erlang cookie is created in (and read from) $HOME.
            "HOME": str(self.folder),
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": f"facetasks-test-{os.getpid()}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.folder / "plugins-expand"),
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.epmd = Child("epmd", ["epmd", "-port", str(epmd_port), "-address", "127.0.0.1"], self.env,
                          log=self.folder / "epmd.log", cwd=self.folder)
        self.server: Child | None = None

    def url(self, vhost: str = "%2F") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def create(self) -> PrivateRabbitMQ:
        self.epmd.start()
        return self.start()

    def start(self) -> PrivateRabbitMQ:
        # The server program itself: /usr/sbin/rabbitmq-server would switch to the rabbitmq user
        # through su, dropping this environment.
        self.server = Child("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], self.env,
                            log=self.folder / "rabbitmq.log", cwd=self.folder).start()
        wait_until(self._answers, START_S, "the private RabbitMQ start", self.server, poll_s=0.2)
        return self

    def _answers(self) -> bool:
        parameters = pika.URLParameters(self.url() + "?connection_attempts=1&socket_timeout=1")
        try:
            pika.BlockingConnection(parameters).close()
        except pika.exceptions.AMQPError:
            return False
        return True

    def stop(self) -> None:
        """The node stopped as an operator stops it (SIGTERM: connections closed, then the VM exits)."""
        if self.server:
            self.server.stop(STOP_S)

    def destroy(self) -> None:
        self.stop()
        self.epmd.stop(STOP_S)
        shutil.rmtree(self.folder, ignore_errors=True)
