"""Completion webhooks: where a task's end is announced, and how its delivery went.

``webhook_*`` describe the delivery for the task's current run (``tasks.run``): reset when the run
ends, moved by each attempt, ``webhook_delivered_at`` set once a receiver accepted it.
"""

STATEMENTS = [
    """
    ALTER TABLE tasks
        ADD COLUMN callback_url text,
        ADD COLUMN webhook_attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN webhook_last_status integer,
        ADD COLUMN webhook_delivered_at timestamptz
    """,
    # Housekeeping looks for ends whose delivery never began.
    """
    CREATE INDEX tasks_unannounced ON tasks (finished_at)
    WHERE callback_url IS NOT NULL AND webhook_delivered_at IS NULL AND webhook_attempts = 0
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP INDEX tasks_unannounced")
    db.execute_sql(
        "ALTER TABLE tasks DROP COLUMN callback_url, DROP COLUMN webhook_attempts, DROP COLUMN webhook_last_status,"
        " DROP COLUMN webhook_delivered_at"
    )
