"""One round trip for an image's claim and its task's hold (``storage.image_states.claim_image``).

The hold (a shared advisory lock on the task, ``CallGate``) must be followed by a check of the task made
with a snapshot taken after the lock, so that a delete that committed while the lock was awaited is seen.
A VOLATILE function takes a snapshot per statement: the claim, the lock and the check run in one call.
"""

STATEMENTS = [
    """
    CREATE FUNCTION facetasks_claim_image(wanted uuid, by_message text, reclaim boolean, hold_task boolean)
    RETURNS TABLE (claimed_task uuid, claimed_attempts integer, task_alive boolean)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        UPDATE images AS i
        SET status = 'processing', attempts = i.attempts + 1, claimed_by = by_message,
            updated_at = clock_timestamp()
        FROM tasks AS t
        WHERE i.id = wanted AND t.id = i.task_id AND NOT t.cancelled AND t.status = 'processing'
          AND (i.status = 'queued' OR (reclaim AND i.status = 'processing' AND i.claimed_by = by_message))
        RETURNING i.task_id, i.attempts INTO claimed_task, claimed_attempts;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF hold_task THEN
            PERFORM pg_advisory_lock_shared(task_lock_key(claimed_task));
            SELECT EXISTS (SELECT 1 FROM tasks WHERE id = claimed_task AND NOT cancelled) INTO task_alive;
        END IF;
        RETURN NEXT;
    END $$
    """,
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP FUNCTION facetasks_claim_image")
