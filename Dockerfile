# syntax=docker/dockerfile:1
# One image with every Shoptrail service; docker-compose.yml picks the command
# (`shoptrail-<service> serve|worker|migrate`), exactly as deploy/local/dev.py does.
#
#   docker build -t shoptrail .
#   docker run --rm shoptrail shoptrail-activity --help

ARG PYTHON_VERSION=3.11

# --- build: the locked dependencies, then the workspace members, into /app/.venv
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Third-party dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/kit/pyproject.toml libs/kit/
COPY libs/testing/pyproject.toml libs/testing/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/activity/pyproject.toml services/activity/
COPY services/fulfilment/pyproject.toml services/fulfilment/
COPY services/notifier/pyproject.toml services/notifier/
COPY services/admin-ui/pyproject.toml services/admin-ui/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --all-packages --no-install-workspace

# Then our own packages, installed as wheels (not editable): the runtime needs no /src.
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --all-packages --no-editable

# --- runtime: the virtualenv (with the operator's tools, e.g. shoptrail-dlq), as an unprivileged user
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN useradd --system --uid 10001 --home-dir /app shoptrail \
 && install -d -o shoptrail /var/lib/shoptrail-notifier  # the notifier's journal (a volume)
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER shoptrail
# Every service binds 127.0.0.1 by default; in a container it must listen on all interfaces.
ENV INGEST_HOST=0.0.0.0 ACTIVITY_HOST=0.0.0.0 FULFILMENT_HOST=0.0.0.0 \
    NOTIFIER_HOST=0.0.0.0 ADMIN_UI_HOST=0.0.0.0
# The image is for production unless told otherwise: dev defaults and weak secrets are
# refused at start-up. The demo chooses dev explicitly (SHOPTRAIL_ENVIRONMENT=dev in compose).
ENV INGEST_ENVIRONMENT=prod ACTIVITY_ENVIRONMENT=prod FULFILMENT_ENVIRONMENT=prod \
    NOTIFIER_ENVIRONMENT=prod ADMIN_UI_ENVIRONMENT=prod
CMD ["shoptrail-activity", "--help"]
