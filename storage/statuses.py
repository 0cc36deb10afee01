"""The statuses of tasks and images: the one list the models, the SQL built in Python and the OpenAPI
document follow.

Members are ``str``: they compare equal to what PostgreSQL returns and format as their value, so SQL
text takes them as ``'{ImageStatus.DONE}'``. The same words are still written out as fixed SQL in the
schema's CHECK constraints and the ``images_in_flight`` index (``storage/migrations``) and in the
fixed statements of ``storage.dispatch`` and ``storage.image_states`` (prepared or planned once: text, not
built per call). The command line
(``facetasks_client``, which may not import the service) and the web page (``api/static/js``) keep
lists of their own, which ``tests/test_status_lists.py`` holds equal to these.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    FORMING = "forming"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


#: A task in one of these has ended its run: nothing works on it until it is retried.
FINAL = (TaskStatus.COMPLETED, TaskStatus.FAILED)


class ImageStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
