# One image for every newsflow service; the command picks the service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY deploy deploy
COPY samples samples
RUN pip install --no-cache-dir .
ENV NEWSFLOW_INGEST_HOST=0.0.0.0 NEWSFLOW_SEARCH_HOST=0.0.0.0 NEWSFLOW_MONITOR_HOST=0.0.0.0 \
    NEWSFLOW_METRICS_HOST=0.0.0.0
CMD ["newsflow", "--help"]
