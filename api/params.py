"""Query parameters: a status filter and page numbers (the list routes), booleans."""

from __future__ import annotations

import falcon

# Far past any real list, and small enough to echo back as a JSON integer.
MAX_PAGE = 1_000_000_000


def status_filter(req: falcon.Request, statuses: tuple[str, ...]) -> str | None:
    """``?status=``, one of ``statuses``, or None when absent (400 otherwise)."""
    status = req.get_param("status")
    if status is not None and status not in statuses:
        raise falcon.HTTPInvalidParam(f"it must be one of {', '.join(statuses)}", "status")
    return status


def flag(req: falcon.Request, name: str, default: bool) -> bool:
    """``?name=true`` or ``false`` (Falcon's ``1``/``0``, ``yes``/``no``... too), ``default`` when absent.

    Empty (``?images=``) is a 400 like any other value that is not a boolean: Falcon would read it as true.
    """
    if req.get_param(name) == "":
        raise falcon.HTTPInvalidParam('The value of the parameter must be "true" or "false", not empty.', name)
    return req.get_param_as_bool(name, default=default)


def paging(req: falcon.Request, default_size: int, max_size: int) -> tuple[int, int]:
    """``?page=`` (from 1) and ``?page_size=`` (1..``max_size``); 400 when out of range."""
    page = req.get_param_as_int("page", min_value=1, max_value=MAX_PAGE, default=1)
    page_size = req.get_param_as_int("page_size", min_value=1, max_value=max_size, default=default_size)
    return page, page_size
