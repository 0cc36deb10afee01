"""Tasks of any size: counters on the task row, positions, windowed dispatch with an outbox.

* ``tasks``: progress and statistics kept as counters (sums, not means, so mean ages stay
  exact), moved in the statements that change images; ``run`` counts starts and retries
  (an image queued in run N carries N, so a run never queues it twice); ``version`` moves with every change
  of the task or of one of its images (the ETag); ``queued_through`` is the position of the last
  image the current run has queued (dispatch resumes after it).
* ``images.position``: 1, 2, 3… in upload order within the task (pages by range, not OFFSET).
* ``images.sent_at``: when the image's detect message was published (NULL: not yet).
* ``json_float``: floats written as JSON the way Python writes them.
* ``housekeeping``: the one row that says when a sweep last ran.
"""

STATEMENTS = [
    """
    ALTER TABLE tasks
        ADD COLUMN version bigint NOT NULL DEFAULT 0,
        ADD COLUMN run integer NOT NULL DEFAULT 0,
        ADD COLUMN queued_through integer NOT NULL DEFAULT 0,
        ADD COLUMN images_total integer NOT NULL DEFAULT 0,
        ADD COLUMN images_done integer NOT NULL DEFAULT 0,
        ADD COLUMN images_failed integer NOT NULL DEFAULT 0,
        ADD COLUMN faces_total integer NOT NULL DEFAULT 0,
        ADD COLUMN males integer NOT NULL DEFAULT 0,
        ADD COLUMN females integer NOT NULL DEFAULT 0,
        ADD COLUMN male_age_sum double precision NOT NULL DEFAULT 0,
        ADD COLUMN female_age_sum double precision NOT NULL DEFAULT 0
    """,
    "ALTER TABLE images ADD COLUMN position integer, ADD COLUMN sent_at timestamptz,"
    " ADD COLUMN run integer NOT NULL DEFAULT 0",
    "UPDATE tasks SET run = 1 WHERE status <> 'forming'",
    "UPDATE images SET run = 1 WHERE status <> 'pending'",
    """
    UPDATE images SET position = numbered.n
    FROM (SELECT id, row_number() OVER (PARTITION BY task_id ORDER BY created_at, id) AS n FROM images) AS numbered
    WHERE images.id = numbered.id
    """,
    "UPDATE images SET sent_at = updated_at WHERE status = 'queued'",
    "ALTER TABLE images ALTER COLUMN position SET NOT NULL",
    """
    UPDATE tasks SET
        images_total = c.total, images_done = c.done, images_failed = c.failed,
        queued_through = CASE WHEN tasks.status = 'processing' THEN c.total ELSE 0 END
    FROM (SELECT task_id, count(*) AS total,
                 count(*) FILTER (WHERE status = 'done') AS done,
                 count(*) FILTER (WHERE status = 'failed') AS failed
          FROM images GROUP BY task_id) AS c
    WHERE tasks.id = c.task_id
    """,
    """
    UPDATE tasks SET
        faces_total = s.faces, males = s.males, females = s.females,
        male_age_sum = s.male_ages, female_age_sum = s.female_ages
    FROM (SELECT i.task_id, count(*) AS faces,
                 count(*) FILTER (WHERE f.gender = 'male') AS males,
                 count(*) FILTER (WHERE f.gender = 'female') AS females,
                 coalesce(sum(f.age) FILTER (WHERE f.gender = 'male'), 0) AS male_ages,
                 coalesce(sum(f.age) FILTER (WHERE f.gender = 'female'), 0) AS female_ages
          FROM faces f JOIN images i ON i.id = f.image_id WHERE i.status = 'done'
          GROUP BY i.task_id) AS s
    WHERE tasks.id = s.task_id
    """,
    "DROP INDEX images_of_task",
    "CREATE UNIQUE INDEX images_in_order ON images (task_id, position)",
    # Pages filtered by status.
    "CREATE INDEX images_by_status ON images (task_id, status, position)",
    # The next images a run may queue: waiting ones after the cursor.
    "CREATE INDEX images_to_dispatch ON images (task_id, position) WHERE status IN ('pending', 'failed')",
    "CREATE INDEX tasks_running ON tasks (updated_at) WHERE status = 'processing'",
    # A float as JSON writes it in Python (28.0, not 28): image JSON is built by PostgreSQL.
    # (Whole numbers below 1e15 print without an exponent in both, so ".0" completes them.)
    """
    CREATE FUNCTION json_float(value double precision) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT CASE WHEN value = trunc(value) AND abs(value) < 1e15 THEN value::text || '.0' ELSE value::text END $$
    """,
    # The advisory-lock key of a task (storage.locks.task_lock_key): its first 64 bits.
    """
    CREATE FUNCTION task_lock_key(task uuid) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT ('x' || left(replace(task::text, '-', ''), 16))::bit(64)::bigint $$
    """,
    "CREATE TABLE housekeeping (id boolean PRIMARY KEY DEFAULT true CHECK (id), last_sweep_at timestamptz NOT NULL)",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE housekeeping")
    db.execute_sql("DROP FUNCTION json_float")
    db.execute_sql("DROP FUNCTION task_lock_key")
    db.execute_sql("DROP INDEX tasks_running, images_to_dispatch, images_by_status, images_in_order")
    db.execute_sql("CREATE INDEX images_of_task ON images (task_id, created_at, id)")
    db.execute_sql("ALTER TABLE images DROP COLUMN position, DROP COLUMN sent_at, DROP COLUMN run")
    db.execute_sql(
        "ALTER TABLE tasks DROP COLUMN version, DROP COLUMN run, DROP COLUMN queued_through, DROP COLUMN images_total,"
        " DROP COLUMN images_done, DROP COLUMN images_failed, DROP COLUMN faces_total, DROP COLUMN males,"
        " DROP COLUMN females, DROP COLUMN male_age_sum, DROP COLUMN female_age_sum"
    )
