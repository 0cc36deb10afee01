"""Apply the versioned migrations once, under a lock, whoever else starts at the same time.

``python -m service.migrate`` runs it (``make run`` and the compose ``migrate`` service do);
workers and the API never migrate.
"""

from __future__ import annotations

from pathlib import Path

from peewee import Database
from playhouse.migrations import Runner

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant shared by every migrating process: pg_advisory_lock serialises them.
_LOCK_KEY = 0x66616365  # "face"


def migrate(database: Database) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    with database.connection_context():
        database.execute_sql("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            return Runner(database, str(MIGRATIONS_DIR)).up()
        finally:
            database.execute_sql("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
