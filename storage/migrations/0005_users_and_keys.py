"""Users, their API keys, and the owner of every task.

The bootstrap admin is the one ``users`` row with ``bootstrap`` set, made here under the name ``admin``:
it stands for the ``API_USERNAME``/``API_PASSWORD`` pair (kept in the environment only, never here) and
takes the name ``API_USERNAME`` when an API process starts with a pair. Tasks that existed before this
migration become the bootstrap admin's.

Users are never deleted, only marked (``deleted_at``), so their tasks keep a named owner and a name is
never given to a second person; nor are keys (``revoked_at``), so that revoking the last key of an API
without a pair never opens it again. A key row holds only the HMAC-SHA256 of the key; ``key_hash_secret``
holds the random HMAC key used when ``API_KEY_SECRET`` is not set.
"""

import secrets

STATEMENTS = [
    """
    CREATE TABLE users (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('admin', 'member')),
        bootstrap boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
    )
    """,
    # At most one bootstrap admin.
    "CREATE UNIQUE INDEX users_bootstrap ON users (bootstrap) WHERE bootstrap",
    "INSERT INTO users (name, role, bootstrap) VALUES ('admin', 'admin', true)",
    """
    CREATE TABLE api_keys (
        id text PRIMARY KEY,
        user_id integer NOT NULL REFERENCES users (id),
        name text NOT NULL,
        secret_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
    )
    """,
    "CREATE INDEX api_keys_of_user ON api_keys (user_id) WHERE revoked_at IS NULL",
    "CREATE TABLE key_hash_secret (hmac_key bytea NOT NULL)",
    "ALTER TABLE tasks ADD COLUMN owner_id integer REFERENCES users (id)",
    "UPDATE tasks SET owner_id = (SELECT id FROM users WHERE bootstrap)",
    "ALTER TABLE tasks ALTER COLUMN owner_id SET NOT NULL",
    # A member's list: their tasks, newest first.
    "CREATE INDEX tasks_of_owner ON tasks (owner_id, created_at DESC, id) WHERE NOT cancelled",
]


def up(migrator, db):
    for statement in STATEMENTS:
        db.execute_sql(statement)
    db.execute_sql("INSERT INTO key_hash_secret (hmac_key) VALUES (%s)", (secrets.token_bytes(32),))


def down(migrator, db):
    db.execute_sql("DROP INDEX tasks_of_owner")
    db.execute_sql("ALTER TABLE tasks DROP COLUMN owner_id")
    db.execute_sql("DROP TABLE key_hash_secret")
    db.execute_sql("DROP TABLE api_keys")
    db.execute_sql("DROP TABLE users")
