"""The OpenAPI 3.1 document of the whole HTTP surface, served at ``/openapi.json`` (no auth).

Written as Python data so that shared pieces (errors, ids, the task shape) are defined once;
``tests/test_openapi.py`` checks it against the app's real routes and real responses. Response
objects are closed (``additionalProperties: false``, every key required), so a field that appears
in or vanishes from the JSON without the document following fails that test.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import falcon

from api import images
from api.names import MAX_NAME_LENGTH
from api.params import MAX_PAGE
from api.tasks import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from api.users import USER_NAME, USER_NAME_RULE
from storage.models import USER_ROLES
from storage.statuses import ImageStatus, TaskStatus

Schema = dict[str, Any]

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
JSON = "application/json"
JPEG = "image/jpeg"
_UUID: Schema = {"type": "string", "format": "uuid"}


def ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def closed(properties: Schema, description: str = "") -> Schema:
    """An object whose keys are exactly ``properties``, all present."""
    schema: Schema = {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


def nullable(schema: Schema) -> Schema:
    return {**schema, "type": [schema["type"], "null"]}


def _timestamp(description: str) -> Schema:
    return {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN, "description": description}


def _summary_properties() -> Schema:
    return {
        "id": ref("Id"),
        "name": nullable({"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}),
        "status": _one_of(TaskStatus),
        "created_at": _timestamp("When the task was created (UTC, whole seconds)."),
        "updated_at": _timestamp("When the task last changed."),
        "started_at": nullable(_timestamp("When the last start or retry began; null while forming.")),
        "finished_at": nullable(_timestamp("When processing ended; null until then.")),
        "progress": ref("Progress"),
    }


def _with_webhook(schema: Schema) -> Schema:
    """``schema`` with the optional keys: ``owner`` (absent on an open API), ``webhook`` (with a callback URL)."""
    owner = {"type": "string", "description": "The name of the user who created the task (the bootstrap admin's "
             "for tasks older than users). Absent while the API is open (no credentials configured)."}
    properties = schema["properties"]
    return {**schema, "properties": {"id": properties["id"], "name": properties["name"], "owner": owner,
                                     **properties, "webhook": ref("Webhook")}}


def _principal_schemas() -> Schema:
    name = {"type": "string", "pattern": f"^{USER_NAME.pattern}$", "description": USER_NAME_RULE}
    role = {"type": "string", "enum": list(USER_ROLES)}
    key_id = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
    key_name = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
    created = _timestamp("When it was created.")
    return {
        "NewUser": {"type": "object", "required": ["name", "role"], "properties": {"name": name, "role": role}},
        "User": closed({"name": name, "role": role, "created_at": created}),
        "UserList": closed({"items": {"type": "array", "items": ref("User")}}),
        "NewKey": {"type": "object", "required": ["name"], "properties": {
            "name": {**key_name, "description": "What the key is for, e.g. laptop."},
            "user": {**name, "description": "Whose key (default: the caller's own); only admins name another."}}},
        "Key": closed({"id": key_id, "name": key_name, "user": name, "created_at": created,
                       "last_used_at": nullable(_timestamp("Last request made with it (to the minute); null if "
                                                           "never."))}),
        "CreatedKey": closed({"id": key_id, "name": key_name, "user": name, "created_at": created, "key": {
            "type": "string", "pattern": "^ft_[0-9a-f]{16}_[0-9a-f]{64}$",
            "description": "The key, shown this once: only its hash is kept."}}),
        "KeyList": closed({"items": {"type": "array", "items": ref("Key")}}),
        "Me": closed({"name": name, "role": role, "key_id": nullable({**key_id, "description":
                      "The key this request came with; null for the bootstrap pair or an open API."})}),
    }


def _schemas() -> Schema:
    count = {"type": "integer", "minimum": 0}
    mean_age = nullable({"type": "number", "description": "Plain mean of that gender's ages; null with none."})
    last_sweep = nullable(_timestamp("When housekeeping last swept, on any machine; null if never (or unknown)."))
    return {
        **_principal_schemas(),
        "Id": _UUID,
        "Error": closed(
            {"title": {"type": "string", "minLength": 1}, "description": {"type": "string", "minLength": 1}},
            "Every error, 401 and unknown routes included.",
        ),
        "NewTask": {
            "type": "object",
            "properties": {
                "name": nullable({"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}),
                "callback_url": nullable({"type": "string", "format": "uri", "description":
                    "Where the task's end is POSTed (its summary, signed); its host (and port) must be in "
                    "WEBHOOK_ALLOWED_HOSTS, else 400 (also while webhooks are off)."}),
            },
            "description": "Optional body of a create; the name must not be blank.",
        },
        "Webhook": closed({
            "url": {"type": "string"},
            "attempts": count,
            "last_status": nullable({"type": "integer", "description": "The receiver's HTTP status; null before "
                                     "an attempt or when it did not answer."}),
            "delivered_at": nullable(_timestamp("When a receiver accepted this end's webhook.")),
            "error": nullable({"type": "string", "description": "Why the last attempt got no answer: refused (the "
                               "host resolves only to addresses not allowed, or left the allowlist), or a connection "
                               "or TLS failure; null once a receiver answered."}),
        }, "The delivery of the webhook announcing the current run's end; only on tasks with a callback_url."),
        "BBox": closed(
            {"x": {"type": "integer"}, "y": {"type": "integer"},
             "width": {"type": "integer", "minimum": 0}, "height": {"type": "integer", "minimum": 0}},
            "Pixels of the uploaded image as displayed (EXIF orientation applied); may be negative at the edges.",
        ),
        "Face": closed({
            "bbox": ref("BBox"),
            "gender": {"type": "string", "enum": ["male", "female", "unknown"]},
            "age": {"type": "number", "description": "Years (FaceCloud's age.mean), a float."},
            "score": {"type": "number"},
        }),
        "Image": closed({
            "id": ref("Id"),
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
            "status": _one_of(ImageStatus),
            "error": nullable({"type": "string", "description": "Why the image failed; null otherwise."}),
            "faces": {"type": "array", "items": ref("Face")},
        }),
        "Progress": closed({"total": count, "done": count, "failed": count}),
        "Statistics": closed(
            {"total_faces": count, "total_males": count, "total_females": count,
             "mean_age_male": mean_age, "mean_age_female": mean_age},
            "Over the faces of the images done so far; final once the task is completed or failed. "
            "Faces of gender unknown count in total_faces only.",
        ),
        "TaskSummary": _with_webhook(closed({**_summary_properties(), "statistics": ref("Statistics")})),
        "Task": _with_webhook(closed(
            {**_summary_properties(), "images": {"type": "array", "items": ref("Image")},
             "statistics": ref("Statistics")},
            "Images are in upload order.",
        )),
        "TaskPage": closed({
            "items": {"type": "array", "items": ref("TaskSummary"), "maxItems": MAX_PAGE_SIZE},
            "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            "total": count,
        }),
        "ArchiveUpload": closed({
            "items": {"type": "array", "items": ref("Image"), "description": "In archive order."},
            "rejected": {"type": "array", "items": closed({
                "name": {"type": "string"}, "title": {"type": "string", "minLength": 1},
                "description": {"type": "string", "minLength": 1},
            }), "description": "Members skipped: directories, links, hidden files, not JPEG, too large, "
                              "encrypted or compressed by a method that cannot be read (Deflate64, AES)."},
        }, "All or nothing: a damaged archive (422), a zip bomb (422), one with no JPEG to add (422) or one past "
           "MAX_ARCHIVE_BYTES or its member count, or with a member header (pax, GNU long name) over 4 KiB (413) "
           "adds no image."),
        "ImagePage": closed({
            "items": {"type": "array", "items": ref("Image"), "maxItems": images.MAX_PAGE_SIZE},
            "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "page_size": {"type": "integer", "minimum": 1, "maximum": images.MAX_PAGE_SIZE},
            "total": count,
        }),
        "Health": closed({
            "status": {"const": "ok"}, "postgres": {"const": "ok"}, "rabbitmq": {"const": "ok"},
            "store": {"const": "ok"}, "housekeeping_last_sweep_at": last_sweep,
        }),
        "HealthDown": closed({
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string", "minLength": 1},
            "status": {"const": "unavailable"},
            "postgres": {"enum": ["ok", "unavailable"]},
            "rabbitmq": {"enum": ["ok", "unavailable"]},
            "store": {"enum": ["ok", "unavailable"]},
            "housekeeping_last_sweep_at": last_sweep,
        }),
    }


_ERRORS = {
    400: "A bad parameter or a malformed body.",
    403: "An admin's route, or another user's key, asked for by a member.",
    404: "No such task or image (a malformed id included); a task of another user, to a member.",
    409: "The task is not in a state that allows this.",
    413: "The image is larger than MAX_IMAGE_BYTES; an archive larger, or unpacking to more, than "
         "MAX_ARCHIVE_BYTES, with more than 10,000 members, or with a member header (pax, GNU long name) "
         "over 4 KiB.",
    415: "Not a JPEG (judged by content, whatever the declared type).",
    422: "An image that cannot be processed: a JPEG that does not decode (truncated or corrupt) on upload; "
         "too many pixels to draw on for …/annotated; a damaged archive, a zip bomb, or an archive with no JPEG "
         "that could be added.",
    503: "PostgreSQL, RabbitMQ or the image store is unreachable, or (DELETE) a worker held the task longer than "
         "DELETE_LOCK_TIMEOUT_S; nothing was changed. For the image store and a held task, a Retry-After header "
         "says in how many seconds to try again.",
}


def _responses() -> Schema:
    error_body = {JSON: {"schema": ref("Error")}}
    responses: Schema = {str(status): {"description": text, "content": error_body} for status, text in _ERRORS.items()}
    responses["401"] = {
        "description": "Credentials are configured and the request lacks valid ones.",
        "headers": {"WWW-Authenticate": {
            "required": False, "schema": {"type": "string", "pattern": "^Basic "},
            "description": "Basic, except to requests sent with `X-Requested-With: XMLHttpRequest` (the web page)."}},
        "content": error_body,
    }
    responses["429"] = {
        "description": "Too many failed authentications from this address; try again after Retry-After seconds.",
        "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}},
        "content": error_body,
    }
    responses["503"]["headers"] = {"Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds; sent when the image store is down or the task is held.",
    }}
    return responses


def _json(schema_name: str, description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref(schema_name)}}}


def _operation(op_id: str, tag: str, summary: str, success: dict[str, Schema], errors: tuple[int, ...],
               **extra: Any) -> Schema:
    responses = dict(success)
    for status in (401, *errors, 429, 503):
        responses[str(status)] = ref(str(status), "responses")
    return {"operationId": op_id, "tags": [tag], "summary": summary,
            "security": [{"basicAuth": []}, {"bearerAuth": []}, {}], "responses": responses, **extra}


# Written out in each path rather than as $refs, their schemas too: Swagger UI drops a $ref'd path
# parameter when the operation has parameters of its own, and shows a $ref'd schema as "any".
TASK_ID: Schema = {"name": "task_id", "in": "path", "required": True, "schema": _UUID}
IMAGE_ID: Schema = {"name": "image_id", "in": "path", "required": True, "schema": _UUID}
_LOCATION = {"Location": {"required": True, "schema": {"type": "string"}}}
# Bytes, not text: OpenAPI 3.1 leaves out "type" and names the media type.
BINARY_JPEG: Schema = {"contentMediaType": JPEG}
_JPEG_BODY = {"content": {JPEG: {"schema": BINARY_JPEG}}}
# Conditional reads of a task and of its image pages: the ETag is the task's version.
IF_NONE_MATCH: Schema = {
    "name": "If-None-Match", "in": "header", "schema": {"type": "string"},
    "description": "The ETag of an earlier response: 304 with no body when the task has not changed since.",
}
_ETAG = {"ETag": {"required": True, "schema": {"type": "string"}}}
NOT_MODIFIED: Schema = {"description": "Not modified since the given ETag; no body.", "headers": _ETAG}


def _one_of(statuses: type[StrEnum]) -> Schema:
    return {"type": "string", "enum": [status.value for status in statuses]}


def _paging(statuses: type[StrEnum], default_size: int, max_size: int) -> list[Schema]:
    return [
        {"name": "status", "in": "query", "schema": _one_of(statuses)},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
        {"name": "page_size", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": max_size, "default": default_size}},
    ]


def _with_etag(response: Schema) -> Schema:
    return {**response, "headers": _ETAG}


def _task_paths() -> Schema:
    page_params = _paging(TaskStatus, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    created = {**_json("Task", "The new task (status forming)."), "headers": _LOCATION, "links": {
        op[0].upper() + op[1:]: {"operationId": op, "parameters": {"task_id": "$response.body#/id"}}
        for op in ("getTask", "deleteTask", "startTask", "retryTask", "addImage", "listImages", "exportFaces")
    }}
    run = _json("TaskSummary", "The task summary as this request left it (status processing, started_at set); "
                "the pipeline queues the images.")
    task = {"description": "The task; with ?images=false its summary (a list item, no images key).",
            "headers": _ETAG,
            "content": {JSON: {"schema": {"oneOf": [ref("Task"), ref("TaskSummary")]}}}}
    with_images = {
        "name": "images", "in": "query", "schema": {"type": "boolean", "default": True},
        "description": "false: the summary only, the same cost whatever the task's size (for polling).",
    }
    return {
        "/api/v1/tasks": {
            "post": _operation(
                "createTask", "tasks", "Create a task", {"201": created}, (400,),
                requestBody={"required": False, "content": {JSON: {"schema": ref("NewTask")}}},
            ),
            "get": _operation(
                "listTasks", "tasks", "List tasks, newest first (a member's own only)",
                {"200": _json("TaskPage", "One page; a page past the end has no items.")}, (400,),
                parameters=[*page_params, {"name": "owner", "in": "query", "schema": {"type": "string"},
                                           "description": "Only the tasks of the user of this name."}],
            ),
        },
        "/api/v1/tasks/{task_id}": {
            "parameters": [TASK_ID],
            "get": _operation(
                "getTask", "tasks", "A task with its images (streamed, upload order), faces and statistics",
                {"200": task, "304": NOT_MODIFIED}, (400, 404), parameters=[with_images, IF_NONE_MATCH],
            ),
            "delete": _operation(
                "deleteTask", "tasks", "Delete a task and all its data, in any state (a running one is cancelled)",
                {"204": {"description": "Deleted."}}, (404,),
            ),
        },
        "/api/v1/tasks/{task_id}/start": {
            "parameters": [TASK_ID],
            "post": _operation("startTask", "tasks", "Start processing (from forming, with at least one image)",
                               {"202": run}, (404, 409)),
        },
        "/api/v1/tasks/{task_id}/retry": {
            "parameters": [TASK_ID],
            "post": _operation("retryTask", "tasks", "Process the failed images again (from failed)",
                               {"202": run}, (404, 409)),
        },
    }


def _image_paths() -> Schema:
    upload_body = {
        "required": True,
        "content": {
            falcon.MEDIA_MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {**BINARY_JPEG, "description": "The JPEG."},
                        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH,
                                 "description": "Default: the uploaded file's name.", "examples": ["team photo"]},
                    },
                },
                "encoding": {"file": {"contentType": f"{JPEG}, application/octet-stream"}},
            },
            JPEG: {"schema": {**BINARY_JPEG, "description": "The raw JPEG bytes; then ?name= is required."}},
            **{kind: {"schema": {"contentMediaType": kind, "description": "An archive of JPEGs: each JPEG member "
                                 "becomes an image named by its path in the archive; the rest is reported."}}
               for kind in ("application/zip", "application/x-tar", "application/gzip")},
        },
    }
    image_params = [TASK_ID, IMAGE_ID]
    return {
        "/api/v1/tasks/{task_id}/images": {
            "parameters": [TASK_ID],
            "get": _operation(
                "listImages", "images", "The task's images with their faces, a page at a time, upload order",
                {"200": _with_etag(_json("ImagePage", "One page; a page past the end has no items.")),
                 "304": NOT_MODIFIED},
                (400, 404),
                parameters=[*_paging(ImageStatus, images.DEFAULT_PAGE_SIZE, images.MAX_PAGE_SIZE), IF_NONE_MATCH],
            ),
            "post": _operation(
                "addImage", "images", "Add one image to a forming task",
                {"201": {"description": "The image (status pending, no faces), with a Location; for an archive, "
                         "the images added and the members rejected.",
                         "content": {JSON: {"schema": {"oneOf": [ref("Image"), ref("ArchiveUpload")]}}},
                         "links": {
                             op[0].upper() + op[1:]: {"operationId": op, "parameters": {
                                 "task_id": "$request.path.task_id", "image_id": "$response.body#/id"}}
                             for op in ("getImageFile", "getAnnotatedImage")
                         }}},
                (400, 404, 409, 413, 415, 422),
                parameters=[{"name": "name", "in": "query", "schema": {"type": "string", "minLength": 1},
                             "description": "The image's name, for a raw image/jpeg body."}],
                requestBody=upload_body,
            ),
        },
        "/api/v1/tasks/{task_id}/faces.csv": {
            "parameters": [TASK_ID],
            "get": _operation(
                "exportFaces", "images", "Every face as CSV (streamed, upload order), for a spreadsheet",
                {"200": {"description": "A header row, then one row per face and one per image without a face "
                         "(face columns empty; its status and error). RFC 4180, UTF-8 with a BOM; cells starting "
                         "with = + - @ are prefixed with '.",
                         "headers": _ETAG, "content": {"text/csv": {"schema": {"contentMediaType": "text/csv"}}}},
                 "304": NOT_MODIFIED},
                (404,), parameters=[IF_NONE_MATCH],
            ),
        },
        "/api/v1/tasks/{task_id}/images/{image_id}/file": {
            "parameters": image_params,
            "get": _operation("getImageFile", "images", "The stored image, byte for byte as uploaded",
                              {"200": {"description": "The JPEG.", **_JPEG_BODY}}, (404,)),
        },
        "/api/v1/tasks/{task_id}/images/{image_id}/annotated": {
            "parameters": image_params,
            "get": _operation(
                "getAnnotatedImage", "images", "The image with each face's box and a 'female · 28' label drawn",
                {"200": {"description": "A new JPEG, upright (EXIF orientation applied), same size.", **_JPEG_BODY}},
                (404, 422),
            ),
        },
    }


def _principal_paths() -> Schema:
    user_name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    key_id = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}
    gone = {"204": {"description": "Done."}}
    return {
        "/api/v1/users": {
            "post": _operation(
                "createUser", "users", "Create a user (admin)",
                {"201": {**_json("User", "The new user."), "headers": _LOCATION}}, (400, 403, 409),
                requestBody={"required": True, "content": {JSON: {"schema": ref("NewUser")}}},
            ),
            "get": _operation("listUsers", "users", "Every user, oldest first (admin)",
                              {"200": _json("UserList", "The users.")}, (403,)),
        },
        "/api/v1/users/{name}": {
            "parameters": [user_name],
            "delete": _operation(
                "deleteUser", "users", "Remove a user (admin): their keys stop working at once; their tasks stay",
                gone, (403, 404, 409),
            ),
        },
        "/api/v1/keys": {
            "post": _operation(
                "createKey", "users", "Create an API key, shown once (a member: for themself only)",
                {"201": {**_json("CreatedKey", "The key; keep it, it is not shown again."), "headers": _LOCATION}},
                (400, 403), requestBody={"required": True, "content": {JSON: {"schema": ref("NewKey")}}},
            ),
            "get": _operation("listKeys", "users", "API keys, never their secrets (a member: their own)",
                              {"200": _json("KeyList", "The keys, oldest first.")}, ()),
        },
        "/api/v1/keys/{key_id}": {
            "parameters": [key_id],
            "delete": _operation("deleteKey", "users", "Revoke a key: refused from the next request on",
                                 gone, (404,)),
        },
        "/api/v1/me": {
            "get": _operation("me", "users", "Who the credentials sign in as", {"200": _json("Me", "You.")}, ()),
        },
    }


def _open(op_id: str, tag: str, summary: str, responses: dict[str, Schema]) -> Schema:
    """An operation that never needs credentials."""
    return {"get": {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses}}


def _service_paths() -> Schema:
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "/health": _open(
            "health", "service", "Liveness, and whether PostgreSQL, RabbitMQ and the image store answer",
            {"200": _json("Health", "Everything answers."), "503": _json("HealthDown", "A dependency is down.")},
        ),
        "/metrics": _open(
            "metrics", "service", "Prometheus metrics (text exposition format)",
            {"200": {"description": "Requests by route, method and status; image store calls (latency, failures) by "
                     "operation; tasks and images by status.",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}},
        ),
        "/openapi.json": _open(
            "openapi", "service", "This document",
            {"200": {"description": "OpenAPI 3.1.", "content": {JSON: {"schema": {"type": "object"}}}}},
        ),
        "/docs": _open(
            "docs", "web", "Interactive API reference (Swagger UI, served locally)",
            {"200": {"description": "An HTML page.", **html}},
        ),
        "/": _open(
            "webPage", "web", "The web page: tasks, uploads, faces drawn, statistics",
            {"200": {"description": "An HTML page; its API calls go to /api/v1.", **html}},
        ),
    }


DESCRIPTION = """\
Face-analysis batch jobs: create a task, upload JPEG images into it, start it; workers find every face
(box, gender, age) and the task ends with its statistics.

* Every `/api/v1` route needs credentials once the service has `API_USERNAME`/`API_PASSWORD` set or a user
  (401 with `WWW-Authenticate: Basic` otherwise; without it to requests that send
  `X-Requested-With: XMLHttpRequest`, as the web page does, so the browser shows no prompt):
  Basic auth with that pair or with a user's name and API key, or `Authorization: Bearer ft_…`.
  A member reaches only their own tasks (any other is 404). Repeated
  failed authentication from one address gets 429 with `Retry-After`. `/health`, `/metrics`, `/openapi.json`,
  `/docs` and `/` never need credentials.
* Every error is JSON `{"title", "description"}`, unknown routes (404) and wrong methods (405) included.
* Timestamps are ISO 8601 UTC with whole seconds (`2026-11-24T10:00:00Z`); ids are UUIDs.
* Every response carries `X-Request-ID` (the client's own if it sent a sane one).
* Files under `/static/` (the web page's) and `/docs/assets/` (Swagger UI's) are plain static files.
"""


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "facetasks", "version": "1", "description": DESCRIPTION},
        "tags": [
            {"name": "tasks", "description": "Tasks: create, list, read, start, retry, delete."},
            {"name": "images", "description": "Images of a task: upload, page through, read back, read with faces "
             "drawn."},
            {"name": "users", "description": "Users, their API keys, and who you are (docs/users-and-keys.md)."},
            {"name": "service", "description": "Health, metrics, this document."},
            {"name": "web", "description": "Pages for people."},
        ],
        "paths": {**_task_paths(), **_image_paths(), **_principal_paths(), **_service_paths()},
        "components": {
            "schemas": _schemas(),
            "responses": _responses(),
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic",
                              "description": "The bootstrap pair, or a user's name with one of their API keys as "
                                             "the password. Needed once credentials are configured."},
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key, ft_…."},
            },
        },
    }


class OpenApiDocument:
    def __init__(self) -> None:
        self.body = document()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body
