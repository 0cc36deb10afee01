"""Pages for people, served by the API process itself, without auth and with nothing fetched from
elsewhere: the web page at ``/`` (``api/static/``), Swagger UI at ``/docs`` (the static files of the
``swagger-ui-py`` package) and the OpenAPI document it shows.

The pages call ``/api/v1`` with same-origin requests; when credentials are configured the browser
asks for them on the first call (its own Basic prompt) and resends them, the images included.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import falcon

from api.openapi import OpenApiDocument

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
SWAGGER_PREFIX = "/docs/assets"


def swagger_ui_dir() -> Path:
    """Swagger UI's files as the ``swagger-ui-py`` package ships them (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class Page:
    """One HTML file, read once."""

    def __init__(self, path: Path) -> None:
        self.html = path.read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.data = self.html


def install(app: falcon.App) -> None:
    app.add_route("/", Page(STATIC_DIR / "index.html"))
    app.add_route("/docs", Page(STATIC_DIR / "docs.html"))
    app.add_route("/openapi.json", OpenApiDocument())
    app.add_static_route(STATIC_PREFIX, str(STATIC_DIR))
    app.add_static_route(SWAGGER_PREFIX, str(swagger_ui_dir()))
