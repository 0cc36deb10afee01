"""Which detector model produced an image's faces."""


def up(migrator, db):
    db.execute_sql("ALTER TABLE images ADD COLUMN model text")


def down(migrator, db):
    db.execute_sql("ALTER TABLE images DROP COLUMN model")
