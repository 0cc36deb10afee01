# facetasks: one image for every role; docker-compose.yml picks the command.
#   API (default CMD):  python -m service.api_server  (waitress, HOST/PORT from the environment)
#   workers:            python -m dramatiq --processes=N --threads=M --skip-logging … actors.worker:setup
#   migrations:         python -m service.migrate
#   FaceCloud emulator: python -m detectors.emulator --host 0.0.0.0 --port 8090
# These are the commands `make run` (service/run.py) starts; tests/test_compose.py keeps them identical.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- dependencies: a virtualenv built from pyproject.toml alone, so this layer is rebuilt only when the
# dependency list changes, not on every source edit. Every dependency ships manylinux wheels (psycopg2-binary,
# pillow, numpy, onnxruntime, dlib-bin), so no compiler is needed; if one ever is, it is installed here and
# never reaches the final image.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --upgrade pip setuptools wheel \
    && pip install --only-binary=:all: -r requirements.txt

# ---- runtime
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STORAGE_DIR=/data/images \
    HOST=0.0.0.0 \
    PORT=8080

# The service runs as an unprivileged user that owns the image store. A named volume mounted at /data/images
# starts as a copy of this directory, ownership included, so the user can write to it.
RUN groupadd --system --gid 10001 facetasks \
    && useradd --system --uid 10001 --gid facetasks --home-dir /home/facetasks --create-home \
        --shell /usr/sbin/nologin facetasks \
    && mkdir -p /data/images \
    && chown -R facetasks:facetasks /data

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
COPY pyproject.toml ./
COPY api ./api
COPY actors ./actors
COPY storage ./storage
COPY detectors ./detectors
COPY service ./service
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info \
    && find /app -name '__pycache__' -type d -prune -exec rm -rf '{}' +

USER facetasks
EXPOSE 8080

# Readiness of the API: /health answers 200 only when PostgreSQL and RabbitMQ answer (503 otherwise, which
# urlopen raises as an error). Worker, migration and emulator containers disable it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

CMD ["python", "-m", "service.api_server"]
