# facetasks: one image for every role; docker-compose.yml picks the command.
#   API (default CMD):  python -m service.api_server  (waitress, HOST/PORT from the environment)
#   workers:            python -m service.workers     (Dramatiq, concurrency from the settings)
#   housekeeping:       python -m service.housekeeping
#   migrations:         python -m service.migrate
#   FaceCloud emulator: python -m tools.emulator --host 0.0.0.0 --port 8090 (a development tool: tools/ is not
#                       in the image; docker-compose.yml mounts it from the checkout into the working directory)
# These are the commands `make run` (service/run.py) starts; tests/test_compose.py keeps them identical.

# Pinned to a release (no registry is reachable where this was written, so no digest could be read; pin
# one with `docker buildx imagetools inspect python:3.11.15-slim-bookworm` where it is). docker-compose.yml
# passes the same default, or PYTHON_IMAGE from .env.
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

# ---- build: a virtualenv with the runtime dependencies exactly as requirements.lock pins them, each
# checked against its sha256 (this layer is rebuilt only when the lock changes). Every dependency ships
# manylinux wheels (psycopg2-binary, pillow, numpy, onnxruntime, dlib-bin): no compiler is needed. The service
# itself is not installed into it (pyproject.toml installs dependencies only): it runs from its tree, copied
# below.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements.lock ./
# The installers leave the virtualenv once it is filled.
RUN pip install --require-hashes --only-binary=:all: -r requirements.lock \
    && pip uninstall --yes pip setuptools wheel \
    && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf '{}' +

# ---- runtime: the base image, the virtualenv and the service's tree, nothing else.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/facetasks \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORAGE_DIR=/data/images \
    HOST=0.0.0.0 \
    PORT=8080

# The base image's own installers are not needed at run time. The service runs as an unprivileged user
# that owns the image store: a named volume mounted at /data/images starts as a copy of this directory,
# ownership included, so the user can write to it.
RUN python -m pip uninstall --yes pip setuptools wheel \
    && groupadd --system --gid 10001 facetasks \
    && useradd --system --uid 10001 --gid facetasks --home-dir /home/facetasks --create-home \
        --shell /usr/sbin/nologin facetasks \
    && mkdir -p /data/images \
    && chown -R facetasks:facetasks /data

COPY --from=build /opt/venv /opt/venv
# The service's tree (PYTHONPATH above), its packages floor first (pyproject.toml's [tool.importlinter] gives
# the order), owned by root so the service cannot change its own code. Not the command line (client/, a
# distribution of its own), which nothing in the service imports, nor the development tools (tools/: the
# FaceCloud emulator, the HOG detector, the evaluation), which nothing in the service imports either.
COPY config /opt/facetasks/config
COPY storage /opt/facetasks/storage
COPY detectors /opt/facetasks/detectors
COPY reach /opt/facetasks/reach
COPY representations /opt/facetasks/representations
COPY actors /opt/facetasks/actors
COPY api /opt/facetasks/api
COPY service /opt/facetasks/service

WORKDIR /home/facetasks
USER facetasks
EXPOSE 8080

# Readiness of the API on its own PORT: /health answers 200 only when PostgreSQL and RabbitMQ answer (503
# otherwise, which urlopen raises as an error). Worker, housekeeping, migration and emulator containers
# disable it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=4)"]

CMD ["python", "-m", "service.api_server"]
