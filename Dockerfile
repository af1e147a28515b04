# syntax=docker/dockerfile:1
# datadesk's production image: `docker build -t datadesk .` (see docs/operations.md).
# Stage 1 installs datadesk and its dependencies into a virtualenv; stage 2 copies only that
# virtualenv onto a fresh slim Python, so no compiler, pip or source tree ships.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/datadesk
COPY pyproject.toml README.md ./
COPY datadesk ./datadesk
# Dependencies install from wheels only (checked on linux/amd64): nothing is compiled here.
RUN /opt/datadesk/bin/python -m pip install --only-binary=:all: --no-binary=datadesk . \
    && /opt/datadesk/bin/python -m pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="datadesk" \
      org.opencontainers.image.description="Generated admin and data application over an existing relational schema"
RUN groupadd --system --gid 10001 datadesk \
    && useradd --system --uid 10001 --gid datadesk --home-dir /var/lib/datadesk \
       --no-create-home --shell /usr/sbin/nologin datadesk \
    && install -d -o datadesk -g datadesk -m 0750 /var/lib/datadesk \
    && install -d -o root -g datadesk -m 0750 /etc/datadesk
COPY --from=build /opt/datadesk /opt/datadesk
# Configuration comes only from the environment and the mounted /etc/datadesk/datadesk.yaml;
# DATADESK_SECRET_KEY and DATADESK_DATABASE_URL are given at `docker run` / in compose.
ENV PATH=/opt/datadesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATADESK_ENV=production \
    DATADESK_CONFIG=/etc/datadesk/datadesk.yaml \
    DATADESK_VAR_DIR=/var/lib/datadesk \
    DATADESK_HOST=0.0.0.0 \
    DATADESK_PORT=8000 \
    DATADESK_WORKERS=2 \
    DATADESK_GRACEFUL_TIMEOUT=60 \
    DATADESK_MAX_CONCURRENCY=32
WORKDIR /var/lib/datadesk
VOLUME ["/var/lib/datadesk"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DATADESK_PORT', '8000'), timeout=4)"]
# SIGTERM (docker stop) drains: requests in flight finish, up to DATADESK_GRACEFUL_TIMEOUT;
# SIGHUP (docker kill -s HUP) replaces the workers one at a time, e.g. after a config change.
STOPSIGNAL SIGTERM
CMD ["datadesk", "serve"]
