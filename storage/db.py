"""The one Peewee database object, initialised at start-up (never at import).

Connections come from a pool. A request or a message takes one on its first query and
gives it back when it ends (``api.database`` and ``actors.middleware`` close it), so work
that never touches the database never waits for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg2
from peewee import DatabaseProxy
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase
from psycopg2 import sql

db = DatabaseProxy()

# Seconds a pooled connection may sit idle before it is recycled, and seconds a thread
# waits for a free connection before the request fails (503) instead of hanging.
STALE_TIMEOUT_S = 300
POOL_WAIT_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 5


def init_db(url: str, max_connections: int = 20) -> PooledPostgresqlDatabase:
    """Point ``db`` at the database in ``url`` (a ``postgresql://`` URL) and return it."""
    params = parse(url)
    database = PooledPostgresqlDatabase(
        params.pop("database"),
        max_connections=max_connections,
        stale_timeout=STALE_TIMEOUT_S,
        timeout=POOL_WAIT_TIMEOUT_S,
        connect_timeout=CONNECT_TIMEOUT_S,
        **params,
    )
    db.initialize(database)
    return database


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
