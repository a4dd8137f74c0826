FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/cpd-api

COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN pip install . && useradd --system --no-create-home cpd
USER cpd

# WEB_CONCURRENCY worker processes; their metrics are added up through PROMETHEUS_MULTIPROC_DIR.
ENV HOST=0.0.0.0 PORT=8000 WEB_CONCURRENCY=2 ENVIRONMENT=production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/cpd-api-metrics
EXPOSE 8000
# Ready = the database answers and is migrated to this image's head (/healthz is liveness only).
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/readyz', timeout=3)"
CMD ["cpd-api", "serve"]
