# syntax=docker/dockerfile:1
# CareConnect Live in one image: the web build, then the wheel (which carries the migrations and
# the web build, hatch_build.py), then a slim runtime that installs only the wheel.
# Build: docker build -t careconnect .   Run it with compose.yaml (PostgreSQL, Redis, coturn).

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
RUN pip install --no-cache-dir uv==0.13.9
COPY . .
COPY --from=web /src/web/out web/out
# Every package of the workspace: the server's wheel and what it depends on from here.
RUN uv build --all-packages --wheel --out-dir /dist

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CARECONNECT_HOME=/data \
    CARECONNECT_ENV=production \
    LOG_JSON=true
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir /dist/*.whl && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /data --create-home careconnect
USER 10001
WORKDIR /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# Migrations first (idempotent; every replica may run them), then the server. WORKERS: processes.
CMD ["sh", "-c", "careconnect migrate && exec careconnect serve --host 0.0.0.0 --port 8000 --workers \"${WORKERS:-2}\""]
