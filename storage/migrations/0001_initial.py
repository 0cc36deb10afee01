"""Tasks, images and faces."""

STATEMENTS = [
    """
    CREATE TABLE tasks (
        id uuid PRIMARY KEY,
        name text,
        status text NOT NULL DEFAULT 'forming'
            CHECK (status IN ('forming', 'processing', 'completed', 'failed')),
        cancelled boolean NOT NULL DEFAULT false,
        remaining integer NOT NULL DEFAULT 0 CHECK (remaining >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
    )
    """,
    "CREATE INDEX tasks_listing ON tasks (created_at DESC, id) WHERE NOT cancelled",
    "CREATE INDEX tasks_status_listing ON tasks (status, created_at DESC, id) WHERE NOT cancelled",
    """
    CREATE TABLE images (
        id uuid PRIMARY KEY,
        task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        name text NOT NULL,
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'queued', 'processing', 'done', 'failed')),
        error text,
        attempts integer NOT NULL DEFAULT 0,
        claimed_by text,
        size integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX images_of_task ON images (task_id, created_at, id)",
    # Housekeeping looks for images left in flight too long.
    "CREATE INDEX images_in_flight ON images (updated_at) WHERE status IN ('queued', 'processing')",
    """
    CREATE TABLE faces (
        id bigserial PRIMARY KEY,
        image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        x integer NOT NULL,
        y integer NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        gender text NOT NULL CHECK (gender IN ('male', 'female', 'unknown')),
        age double precision NOT NULL,
        score double precision NOT NULL
    )
    """,
    "CREATE INDEX faces_of_image ON faces (image_id, id)",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)


def down(migrator, db):
    db.execute_sql("DROP TABLE faces, images, tasks")
