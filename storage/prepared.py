"""Statements planned once per connection: the pipeline's per-image statements.

PostgreSQL plans a statement sent as text on every call; for the statement that ends an image
planning cost as much as running it. A ``Prepared`` statement is prepared on a connection the
first time that connection runs it (and again if the server forgot it), then only executed.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg2 import errors

from storage.db import db

# Which statements each (pooled, long-lived) connection has prepared.
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
# Every statement made, for ``prepare_all``.
_ALL: list[Prepared] = []


def prepare_all() -> None:
    """Prepare every statement on this thread's connection now (a worker thread, as it starts): planned
    by the first image of a run, the statements kept its threads' first calls waiting for each other."""
    for statement in _ALL:
        statement.prepare()


class Prepared:
    """``sql`` with ``%(name)s`` parameters, prepared as ``name`` with ``params`` ((name, type) in order)."""

    def __init__(self, name: str, sql: str, params: Sequence[tuple[str, str]]) -> None:
        self.name = name
        body = sql
        for number, (param, _) in enumerate(params, 1):
            body = body.replace(f"%({param})s", f"${number}")
        self.prepare_sql = f"PREPARE {name}({', '.join(kind for _, kind in params)}) AS {body}"
        self.execute_sql = f"EXECUTE {name}({', '.join(f'%({param})s' for param, _ in params)})"
        _ALL.append(self)

    def prepare(self) -> None:
        """Prepare it on this thread's connection unless it is already."""
        known = _PREPARED.setdefault(db.connection(), set())
        if self.name not in known:
            db.execute_sql(self.prepare_sql)
            known.add(self.name)

    def execute(self, values: Mapping[str, Any], before: str = "") -> Any:
        """Run it with ``values``; ``before`` is SQL sent ahead in the same round trip."""
        self.prepare()
        try:
            return db.execute_sql(before + self.execute_sql, values)
        except Exception as error:
            if not isinstance(getattr(error, "orig", error), errors.InvalidSqlStatementName):
                raise
            # The server lost it (a reset connection): prepare it again, once.
            db.execute_sql(self.prepare_sql)
            return db.execute_sql(before + self.execute_sql, values)
