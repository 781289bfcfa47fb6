# syntax=docker/dockerfile:1
# Build stage: resolve and build wheels for deskguard and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --wheel-dir /wheels .

# Runtime stage: only the wheels, a non-root user, and the sample registry.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DESKGUARD_REGISTRY=/etc/deskguard/vendors.yml \
    DESKGUARD_DATABASE=/var/lib/deskguard/deskguard.sqlite3 \
    DESKGUARD_PORT=3000
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels deskguard && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/deskguard --create-home deskguard \
    && mkdir -p /etc/deskguard && chown deskguard /var/lib/deskguard
COPY examples/vendors.yml /etc/deskguard/vendors.yml
USER 10001
WORKDIR /var/lib/deskguard
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DESKGUARD_PORT','3000'), timeout=2); sys.exit(0)" || exit 1
ENTRYPOINT ["deskguard"]
CMD ["serve"]
