"""What requests carry: the list routes' status filter and page numbers, booleans, and JSON object bodies."""

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


# A JSON body of this API holds a few names and a URL: anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024
_NO_BODY = object()


def json_object(req: falcon.Request, whose: str, example: str) -> dict:
    """The request's JSON object body ({} when there is none); 413 when too large, 400 when not an object."""
    if (req.content_length or 0) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(
            title="Body too large", description=f"{whose} JSON body may be at most {MAX_BODY_BYTES} bytes."
        )
    body = req.get_media(default_when_empty=_NO_BODY)
    if body is _NO_BODY:
        return {}
    if not isinstance(body, dict):  # JSON null included: the body, when there is one, is an object
        raise falcon.HTTPBadRequest(title="Invalid body", description=f"The body must be a JSON object like {example}.")
    return body
