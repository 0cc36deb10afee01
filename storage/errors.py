"""What storage refuses, as a small tree the API maps to status codes.

The database driver's errors stay inside storage: those that mean PostgreSQL is out of reach
leave it as ``DatabaseUnavailable`` (``storage.db``).
"""


class StorageError(Exception):
    """Base class of the refusals below."""


class TaskNotFound(StorageError):
    """No such task, or it is being deleted."""


class ImageNotFound(StorageError):
    """No such image in that task."""


class WrongState(StorageError):
    """The task is not in a state that allows the action; the message says why."""


class StoreUnavailable(StorageError):
    """The image store cannot be reached or failed a call: try again later, nothing is lost."""


class TaskBusy(StorageError):
    """A worker holds the task longer than a request may wait (``lock_timeout``): try again shortly."""


class DatabaseUnavailable(StorageError):
    """PostgreSQL does not answer, dropped the connection, or the pool has no free one: try again shortly.

    The message is the driver's first line, or its error's name when it says nothing.
    """
