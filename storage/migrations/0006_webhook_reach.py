"""Webhooks: why the current run's delivery failed, and which run's end was announced.

``webhook_error`` is the reason a delivery was refused or went unanswered (an address not allowed, a
connection refused), null once a receiver answered. ``webhook_announced_run`` is the run whose end was
handed to the broker: housekeeping announces an end only when it is still unannounced, never again while
its first attempt is merely queued behind others.
"""

STATEMENTS = [
    "ALTER TABLE tasks ADD COLUMN webhook_error text, ADD COLUMN webhook_announced_run integer",
    # Ends already tried were announced; one not tried yet is announced once more (delivery is idempotent).
    "UPDATE tasks SET webhook_announced_run = run WHERE webhook_attempts > 0 OR webhook_delivered_at IS NOT NULL",
    "DROP INDEX tasks_unannounced",
    """
    CREATE INDEX tasks_unannounced ON tasks (finished_at)
    WHERE callback_url IS NOT NULL AND webhook_announced_run IS DISTINCT FROM run
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP INDEX tasks_unannounced")
    db.execute_sql(
        "CREATE INDEX tasks_unannounced ON tasks (finished_at)"
        " WHERE callback_url IS NOT NULL AND webhook_delivered_at IS NULL AND webhook_attempts = 0"
    )
    db.execute_sql("ALTER TABLE tasks DROP COLUMN webhook_error, DROP COLUMN webhook_announced_run")
