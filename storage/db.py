"""The one Peewee database object, initialised at start-up (never at import).

Connections come from a pool, taken by the first query. A request gives its connection back when
it ends (``api.database``); a worker thread keeps its own from message to message and gives it back
only after a message that raised (``actors.middleware.DatabaseConnections`` says why).

Failures to reach PostgreSQL leave this module as ``storage.errors.DatabaseUnavailable``, so no
caller above storage needs to know the driver's errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from peewee import DatabaseProxy, InterfaceError, OperationalError
from playhouse.db_url import parse
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase
from psycopg2 import sql

from storage.errors import DatabaseUnavailable

db = DatabaseProxy()

# Seconds a pooled connection may sit idle before it is recycled, and seconds a thread
# waits for a free connection before the request fails (503) instead of hanging.
STALE_TIMEOUT_S = 300
POOL_WAIT_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 5


# SQLSTATEs of contention, not of an outage: a deadlock or serialization failure (class 40) and a lock
# wait that timed out (55P03). They stay the driver's errors, for the caller that waits or retries.
_CONTENTION_CLASS = "40"
_LOCK_NOT_AVAILABLE = "55P03"


def _contention(error: Exception) -> bool:
    code = getattr(getattr(error, "orig", None), "pgcode", None) or ""
    return code.startswith(_CONTENTION_CLASS) or code == _LOCK_NOT_AVAILABLE


@contextmanager
def _unavailable_raised() -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError, MaxConnectionsExceeded) as error:
        if _contention(error):
            raise
        lines = str(error).strip().splitlines()
        raise DatabaseUnavailable(lines[0] if lines else type(error).__name__) from error


class _Database(PooledPostgresqlDatabase):
    """The pool, whose every way to the server (connect, statements, transactions) turns an
    unreachable PostgreSQL into ``DatabaseUnavailable``."""

    def connect(self, reuse_if_open: bool = False) -> bool:
        with _unavailable_raised():
            return super().connect(reuse_if_open)

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        with _unavailable_raised():
            return super().execute_sql(sql, params)

    def begin(self, *args: Any) -> None:
        with _unavailable_raised():
            super().begin(*args)

    def commit(self) -> None:
        with _unavailable_raised():
            super().commit()

    def rollback(self) -> None:
        with _unavailable_raised():
            super().rollback()


def init_db(url: str, max_connections: int = 20) -> PooledPostgresqlDatabase:
    """Point ``db`` at the database in ``url`` (a ``postgresql://`` URL) and return it."""
    params = parse(url)
    database = _Database(
        params.pop("database"),
        max_connections=max_connections,
        stale_timeout=STALE_TIMEOUT_S,
        timeout=POOL_WAIT_TIMEOUT_S,
        connect_timeout=CONNECT_TIMEOUT_S,
        **params,
    )
    db.initialize(database)
    return database


def check_database() -> None:
    """Raise ``DatabaseUnavailable`` unless PostgreSQL answers a query."""
    db.execute_sql("SELECT 1")


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist; True if it was created."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    conn = psycopg2.connect(maintenance, connect_timeout=CONNECT_TIMEOUT_S)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()
