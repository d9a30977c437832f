# One image for every newsflow service; the command picks the service (docker-compose.yml,
# deploy/k8s). Dependencies are a layer of their own, installed from the lock with every hash
# checked (the model wheel's too), so a change to the code rebuilds only the last layers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 newsflow \
 && useradd --system --uid 10001 --gid newsflow --home-dir /app --shell /usr/sbin/nologin newsflow
WORKDIR /app
COPY requirements/app.lock requirements/app.lock
RUN pip install --require-hashes -r requirements/app.lock
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY deploy deploy
COPY samples samples
RUN pip install --no-deps . && rm -rf build *.egg-info
# Listen on the container's address; state (the feed poller's, a secrets key made on first use)
# goes to a writable place, the rest of the file system can be read-only.
ENV NEWSFLOW_INGEST_HOST=0.0.0.0 NEWSFLOW_SEARCH_HOST=0.0.0.0 NEWSFLOW_MONITOR_HOST=0.0.0.0 \
    NEWSFLOW_METRICS_HOST=0.0.0.0 NEWSFLOW_CACHE_DIR=/tmp/newsflow
USER 10001:10001
CMD ["newsflow", "--help"]
