# syntax=docker/dockerfile:1
# deskguard's image. Build: docker build -t deskguard .
#                    or: podman build --format docker -t deskguard .   (keeps the HEALTHCHECK)
# Run: mount the DIRECTORY holding your vendors.yml at /etc/deskguard/registry (see compose.yaml).

# Build stage: wheels for deskguard and exactly the dependency versions in constraints.txt.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt pyproject.toml README.md LICENSE NOTICE ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt .

# Runtime stage: only the wheels, a non-root user, no registry (it must be mounted).
FROM python:3.11-slim
LABEL org.opencontainers.image.title="deskguard" \
      org.opencontainers.image.description="Vendor impersonation checks and countersigned approvals for IT help desks, in Slack" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DESKGUARD_REGISTRY=/etc/deskguard/registry/vendors.yml \
    DESKGUARD_DATABASE=/var/lib/deskguard/deskguard.sqlite3 \
    DESKGUARD_PORT=3000
COPY constraints.txt /tmp/constraints.txt
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels \
        --constraint /tmp/constraints.txt /wheels/deskguard-*.whl \
    && rm /tmp/constraints.txt \
    && useradd --system --uid 10001 --home-dir /var/lib/deskguard --create-home deskguard \
    && mkdir -p /etc/deskguard/registry
COPY LICENSE NOTICE /usr/share/doc/deskguard/
COPY examples/docker-entrypoint.sh /usr/local/bin/deskguard-entrypoint
USER 10001
WORKDIR /var/lib/deskguard
VOLUME ["/var/lib/deskguard"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request\nport = os.environ.get('DESKGUARD_OPS_PORT') or os.environ.get('DESKGUARD_PORT', '3000')\ntry:\n    urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)\nexcept OSError as exc:\n    sys.exit(f'unhealthy: {exc}')"]
ENTRYPOINT ["deskguard-entrypoint"]
CMD ["serve"]
