"""The one settings model. Every value can be overridden by a `NEWSFLOW_*` environment variable."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
# Secrets that may also come from a file named by NEWSFLOW_<NAME>_FILE (how Kubernetes and Docker
# mount secrets); the file's content wins over nothing, the variable itself wins over the file.
SECRET_FIELDS = ("kafka_sasl_password", "kafka_ssl_key_password", "elasticsearch_api_key",
                 "elasticsearch_password", "api_key", "secrets_key", "smtp_password")


def _default_cache_dir() -> Path:
    # Elasticsearch refuses to run as root, so as root the stack runs as an unprivileged user and
    # its files must live outside root's private home directory.
    if os.geteuid() == 0:
        return Path("/var/cache/newsflow")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsflow"


class Settings(BaseSettings):
    # Each field's docstring is its description: the configuration page is generated from them.
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="ignore", use_attribute_docstrings=True)

    # Where things run.
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers, comma-separated (the local controller uses port + 1)."""
    elasticsearch_url: str = "http://127.0.0.1:9200"
    """Elasticsearch (`https://…` for TLS)."""

    # Connecting to a secured Kafka: the protocol of its listener, SASL's mechanism and user,
    # the CA that signed the brokers' certificates (else the system's), and a client certificate
    # and key for mTLS. Hostnames are verified against the certificates unless turned off.
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    """`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`."""
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    """`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`."""
    kafka_sasl_username: str | None = None
    """SASL user."""
    kafka_sasl_password: SecretStr | None = None
    """SASL password."""
    kafka_ssl_ca_file: Path | None = None
    """PEM file of the CA that signed the brokers' certificates (unset: the system's CAs)."""
    kafka_ssl_cert_file: Path | None = None
    """Client certificate for mTLS (PEM)."""
    kafka_ssl_key_file: Path | None = None
    """Client key for mTLS (PEM)."""
    kafka_ssl_key_password: SecretStr | None = None
    """Password of the client key."""
    kafka_ssl_verify_hostname: bool = True
    """Check the brokers' names against their certificates."""
    # Connecting to a secured Elasticsearch (https:// in the URL): a CA file, or the SHA-256
    # fingerprint of the CA or node certificate, and an API key (the base64 "encoded" form) or
    # a user and password.
    elasticsearch_ca_file: Path | None = None
    """PEM file of Elasticsearch's CA (unset: certifi's CAs)."""
    elasticsearch_ca_fingerprint: str | None = None
    """Instead of a CA file: the SHA-256 of the CA or of the node's certificate, pinned."""
    elasticsearch_api_key: SecretStr | None = None
    """API key, the base64 `encoded` form; wins over a user."""
    elasticsearch_username: str | None = None
    """Basic authentication: the user."""
    elasticsearch_password: SecretStr | None = None
    """Basic authentication: the password."""
    # The same secrets read from files (NEWSFLOW_KAFKA_SASL_PASSWORD_FILE and so on).
    kafka_sasl_password_file: Path | None = None
    """File holding the SASL password."""
    kafka_ssl_key_password_file: Path | None = None
    """File holding the client key's password."""
    elasticsearch_api_key_file: Path | None = None
    """File holding the Elasticsearch API key."""
    elasticsearch_password_file: Path | None = None
    """File holding the Elasticsearch password."""
    api_key_file: Path | None = None
    """File holding `NEWSFLOW_API_KEY`."""
    secrets_key_file: Path | None = None
    """File holding `NEWSFLOW_SECRETS_KEY`."""
    ingest_host: str = "127.0.0.1"
    """Address the ingest API binds to."""
    ingest_port: int = 8001
    """Port of the ingest API."""
    search_host: str = "127.0.0.1"
    """Address the search API binds to."""
    search_port: int = 8000
    """Port of the search API."""
    monitor_host: str = "127.0.0.1"
    """Address the monitor (ops API and page) binds to."""
    monitor_port: int = 8002
    """Port of the monitor."""
    monitor_poll_seconds: float = Field(default=5.0, gt=0)
    """How often the monitor samples offsets."""
    # The monitor's dead-letter view keeps the newest this many letters' summaries.
    monitor_max_letters: int = Field(default=10_000, ge=10)
    """Dead letters the monitor keeps summaries of (the newest)."""
    # Where the CLI and the local stack reach the APIs (another container, a Service): unset,
    # http://<host>:<port> of the settings above (0.0.0.0 read as 127.0.0.1).
    ingest_url: str | None = None
    """Where the CLI and the local stack reach the ingest API (unset: `http://<host>:<port>`)."""
    search_url: str | None = None
    """Where the CLI and the local stack reach the search API (unset: `http://<host>:<port>`)."""
    monitor_url: str | None = None
    """Where the CLI reaches the monitor (unset: `http://<host>:<port>`)."""
    # Workers serve /metrics, /healthz and /readyz on the port their topology row names (a
    # second worker of a stage on one host takes the port 100 further on); this replaces it.
    metrics_host: str = "127.0.0.1"
    """Address workers serve `/metrics`, `/healthz` and `/readyz` on."""
    metrics_port: int | None = None
    """Replaces the port the topology table gives a worker's metrics."""
    # Whether processes create missing topics at start. Off where an operator owns the topics
    # (Strimzi's KafkaTopic resources) and a worker's ACLs do not let it create any.
    manage_topics: bool = True
    """Processes create missing topics; `false` where an operator owns them (Strimzi)."""
    # Log lines as text (a terminal) or as one JSON object each (a cluster's log pipeline).
    log_format: Literal["text", "json"] = "text"
    """`text`, or `json`: one JSON object per log line, for a cluster's log pipeline."""

    # A prefix for topics, consumer groups and indices, so several deployments (or a test session)
    # can share one broker and one Elasticsearch node without seeing each other's data.
    namespace: str = ""
    """Prefix for topics, consumer groups and indices, so deployments can share a broker and a node."""
    topic_partitions: int = Field(default=4, ge=1)
    """Partitions of each topic newsflow creates (`news.analysed` and `news.links` always have one)."""
    # Replicas of every topic newsflow creates; min.insync.replicas is one fewer (at least 1),
    # so a write is acknowledged by all but one replica and one broker may be lost.
    topic_replication_factor: int = Field(default=1, ge=1)
    """Replicas of each topic newsflow creates; `min.insync.replicas` is one fewer (at least 1)."""
    # Replicas of each shard of the news index (0 on one node).
    index_replicas: int = Field(default=0, ge=0)
    """Replicas of each shard of the news index."""

    # API keys (`newsflow keys create NAME --scope ingest|read|alerts|admin`): publishing needs
    # an ingest key and dead-letter replays an admin key; reading is open (the search page on a
    # laptop) unless require_read_key. Clients of ours (`newsflow ingest`, `deadletters replay`)
    # send NEWSFLOW_API_KEY.
    require_ingest_key: bool = True
    """Publishing articles takes a key with the `ingest` scope."""
    require_admin_key: bool = True
    """Dead-letter replays and others' subscriptions take an `admin` key."""
    require_read_key: bool = False
    """Search, articles, stories and suggest take a `read` key."""
    # The monitor's API and page (topics, lag, dead letters with their payloads) take a key
    # with the ops scope (admin implies it); /metrics and /health stay open for scrapers.
    require_ops_key: bool = True
    """The monitor's API and page take an `ops` key (`/metrics` and `/health` stay open)."""
    api_key: SecretStr | None = None
    """The key the CLI sends to the APIs."""

    # Doors. A request body over this many bytes is refused (413) by the search and monitor
    # APIs before anything else reads it (ingest has its own, larger limits below).
    api_max_body_bytes: int = Field(default=262_144, ge=1_000)
    """Largest request body the search and monitor APIs read (413 above, before any key check)."""
    # Host names the APIs answer to (comma-separated, e.g. "news.example.org,localhost"): any
    # other Host header is a 400, so a DNS-rebinding page cannot read the open endpoints.
    # Empty: any host (the laptop default).
    allowed_hosts: str = ""
    """Host names the APIs answer to, comma-separated; another `Host` is a 400 (empty: any)."""
    # Failed keys: more than `failed_key_limit` unknown or revoked keys from one client address
    # within the window and that client hears 429 with Retry-After until the window ends.
    failed_key_limit: int = Field(default=10, ge=1)
    """Unknown or revoked keys from one address within the window before 429 + Retry-After."""
    failed_key_window_seconds: float = Field(default=60.0, gt=0)
    """The window the failed keys are counted in."""
    # Per-key quotas.
    max_subscriptions_per_key: int = Field(default=100, ge=1)
    """Subscriptions one key may have (429 above)."""
    max_streams_per_key: int = Field(default=5, ge=1)
    """Live streams one key may have open (429 above)."""
    # The key that seals webhook secrets and feed tokens on news.subscriptions (Fernet keys,
    # comma-separated: the first seals, every one opens, so a new key goes first and an old
    # one is dropped once `newsflow keys reseal` has run). Unset: a key made once and kept at
    # <cache_dir>/state/secrets.key, which every process on one machine shares.
    secrets_key: SecretStr | None = None
    """Fernet keys sealing secrets on topics, comma-separated: the first seals, all open."""

    # Ingest limits.
    # An article's text or HTML, in bytes, the same on /articles and in a batch; a request's
    # JSON may be larger by its other fields (a 64 KB allowance) and its escapes (\" is 2 bytes).
    max_body_bytes: int = Field(default=5_000_000, ge=1_000)
    """Largest article text accepted, on `/articles` and per batch item (413 above)."""
    max_batch_items: int = Field(default=500, ge=1)
    """Largest batch accepted, in articles."""
    max_batch_bytes: int = Field(default=25_000_000, ge=1_000)  # a whole batch request
    """Largest batch request body."""
    # How long a POST waits for the broker to acknowledge before answering 503 + Retry-After.
    publish_timeout_seconds: float = Field(default=10.0, gt=0)
    """Longest a POST waits for the broker before 503 + Retry-After."""

    # The largest message value a stage sends (the broker accepts 20 MB; see deploy/local): an
    # output over it is trimmed by its contract's rule or dead-lettered, never dropped.
    max_message_bytes: int = Field(default=10_000_000, ge=100_000)
    """Largest message a stage sends; larger outputs are trimmed or dead-lettered."""
    # Each message's processing budget in extraction and enrichment: the NLP runs in a child
    # process that is killed past this many seconds, and the message is dead-lettered.
    stage_budget_seconds: float = Field(default=30.0, gt=0)
    """A message's processing budget in extraction and enrichment."""
    # HTML with more elements than this is dead-lettered before parsing (trafilatura needs
    # ~5 s at 40,000 elements and grows faster than linearly; news pages have a few thousand).
    max_html_elements: int = Field(default=60_000, ge=100)
    """HTML with more elements is dead-lettered before parsing."""

    # Stage runtime: how many messages a stage takes at once (outputs are sent as they are made;
    # the input offsets are committed once all of them were acknowledged).
    stage_batch_size: int = Field(default=100, ge=1)
    """Most messages a stage takes at once."""
    # Dead-letter limits: more invalid messages than this in a row, or a larger invalid share
    # over the last `dead_letter_window` messages, stops the stage (exit code 3) instead.
    dead_letter_max_consecutive: int = Field(default=20, ge=1)
    """Invalid messages in a row that stop a stage (exit code 3)."""
    dead_letter_max_ratio: float = Field(default=0.5, gt=0, le=1)
    """Invalid share over the window that stops a stage."""
    dead_letter_window: int = Field(default=200, ge=1)
    """Messages the invalid share is taken over (only once the window is full)."""
    heartbeat_seconds: float = Field(default=5.0, gt=0)  # a worker says it is alive this often
    """How often a worker says it is alive."""
    # A sharded stage (the alert matcher: a row of the topology table with `sharded`) splits its
    # state into `shards` parts; a worker holds shard `shard` and reads the whole input in that
    # shard's consumer group. Every process is given the same `shards` (the monitor watches each
    # shard's group); 1 is today's single group.
    shards: int = Field(default=1, ge=1, le=256)
    """Subscription shards (give every process the same value)."""
    shard: int = Field(default=0, ge=0)
    """The shard an alert matcher holds (below `NEWSFLOW_SHARDS`)."""
    # "<stage>:<text>": that stage rejects messages containing the text (for drills and tests of
    # the dead-letter and replay path; empty in production).
    inject_failure: str = ""
    """`<stage>:<text>`: that stage dead-letters messages containing the text (drills, tests)."""

    # Search: requests one API process has at Elasticsearch at once; more wait this long, then
    # answer 503 busy (a burst of heavy searches must not slow every other search down).
    search_max_concurrent: int = Field(default=8, ge=1)
    """Requests one search API process has at Elasticsearch at once."""
    search_queue_seconds: float = Field(default=5.0, gt=0)
    """How long further requests wait before 503 busy."""
    # First pages answered from an exact cache (services/search_api/cache.py): at most this
    # many answers and bytes per API process; 0 entries turns it off.
    search_cache_entries: int = Field(default=10_000, ge=0)
    """First-page answers one search API process keeps (0 turns the cache off)."""
    search_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    """Bytes of answers one search API process keeps."""

    # Indexing: a bulk request goes out when either bound is reached.
    index_batch_size: int = Field(default=500, ge=1)
    """Most documents per bulk request."""
    index_batch_seconds: float = Field(default=1.0, gt=0)
    """Longest a bulk request waits to fill."""
    index_linger_seconds: float = Field(default=0.05, ge=0)  # wait for more after the first
    """After the first document, how long to wait for more."""
    index_max_retries: int = Field(default=8, ge=0)
    """Retries of a bulk item the node answered 5xx before it is dead-lettered."""

    # Feed poller: comma-separated feed URLs and/or a JSON file of
    # [{"url": ..., "interval_seconds": ..., "name": ...}]; each feed is polled at its interval.
    feeds: str = ""
    """Feed URLs to poll, comma-separated."""
    feeds_file: Path | None = None
    """A JSON file of feeds: `[{"url", "interval_seconds", "name"}]`."""
    feed_interval_seconds: float = Field(default=300.0, gt=0)
    """How often a feed is polled unless it names its own interval."""
    feed_fetch_timeout_seconds: float = Field(default=20.0, gt=0)
    """One feed request, answer included."""
    feeds_state: Path | None = None  # SQLite file; default: <cache_dir>/state/feeds.sqlite3
    """The feed poller's SQLite record (unset: `<cache dir>/state/feeds.sqlite3`)."""

    # Alerts. Delivery attempts, on every channel: seconds to wait before each (the first is
    # immediate), each jittered by ±10% and never sooner than the receiver's Retry-After.
    delivery_retry_schedule: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0])
    """Seconds before each delivery attempt, every channel (a JSON list)."""
    delivery_timeout_seconds: float = Field(default=15.0, gt=0)
    """One delivery attempt, answer included (HTTP channels; the SMTP connection)."""
    delivery_disable_after: int = Field(default=5, ge=1)  # a destination's failed alerts in a row
    """A destination's failed alerts in a row that disable it."""
    delivery_concurrency: int = Field(default=64, ge=1)
    """Delivery attempts in flight per deliverer."""
    alert_max_per_hour: int = Field(default=60, ge=1)  # per destination; the rest go to a digest
    """Alerts per destination and hour before the rest wait for the hourly digest."""
    digest_check_seconds: float = Field(default=30.0, gt=0)
    """How often due digests are looked for."""
    # The alert history (history pages, feeds, each alert's delivery state) keeps this many
    # days, as daily indices; older ones are dropped whole.
    alert_history_days: int = Field(default=30, ge=1)
    """Days of alert history and delivery states kept (daily indices, dropped whole)."""
    sse_ping_seconds: float = Field(default=15.0, gt=0)
    """Live stream pings."""
    sse_send_timeout_seconds: float = Field(default=10.0, gt=0)
    """A live-stream client not reading for this long is dropped."""
    # Alert channels (services/delivery/channels/). Email: the SMTP relay alerts go out
    # through (unset: email destinations are refused), STARTTLS on its submission port (or
    # "tls": implicit TLS, 465; "none" only for a relay on this machine), a login if it takes
    # one, the CA that signed its certificate (else the system's), and the From address.
    smtp_host: str | None = None
    """The relay email alerts go through (unset: email destinations are refused)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    """The relay's port."""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    """`starttls`, `tls` (implicit TLS) or `none` (only for a relay on this host)."""
    smtp_username: str | None = None
    """The relay's login."""
    smtp_password: SecretStr | None = None
    """The relay's password."""
    smtp_password_file: Path | None = None
    """File holding the relay's password."""
    smtp_ca_file: Path | None = None
    """The relay's CA (unset: the system's CAs)."""
    smtp_from: str = "newsflow alerts <alerts@newsflow.invalid>"
    """The From address of email alerts."""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    """One email message, connection included."""
    # Slack and Teams: the incoming-webhook URLs each accepts (regular expressions, whole URL).
    slack_webhook_patterns: list[str] = Field(default_factory=lambda: [
        r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+"])
    """Incoming-webhook URLs the Slack channel accepts (JSON list of regular expressions)."""
    teams_webhook_patterns: list[str] = Field(default_factory=lambda: [
        r"https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/[\w@./-]+",
        r"https://[a-z0-9.-]+\.logic\.azure\.com(:443)?/workflows/[0-9a-fA-F-]+/triggers/\w+/paths/invoke\?\S+",
        r"https://[a-z0-9.-]+\.environment\.api\.powerplatform\.com(:443)?/powerautomate/automations/"
        r"direct/workflows/[0-9a-fA-F-]+/triggers/\w+/paths/invoke\?\S+"])
    """Incoming-webhook URLs the Teams channel accepts (JSON list of regular expressions)."""
    max_destinations: int = Field(default=10, ge=1)  # per subscription
    """Destinations one subscription may have."""
    # Spike alerts (kind "volume", services/alerts/volume.py): the last hour against the 12
    # before it, the last day against the 14 before it. A window spikes when its count of
    # matching articles reaches both its minimum and its factor times the baseline (the
    # windows before it, on average): so 1 → 3 is never a spike, nor 40 → 60 in a busy hour.
    spike_hour_factor: float = Field(default=3.0, ge=1.0)
    """An hour spikes at this many times its baseline (the 12 hours before, on average)..."""
    spike_hour_min_count: int = Field(default=5, ge=1)
    """...and with at least this many matching articles."""
    spike_day_factor: float = Field(default=2.0, ge=1.0)
    """A day spikes at this many times its baseline (the 14 days before, on average)..."""
    spike_day_min_count: int = Field(default=20, ge=1)
    """...and with at least this many matching articles."""
    # Outbound requests (webhooks) may not reach loopback, private, link-local or metadata
    # addresses, unless a host or network is named here (comma-separated, e.g. "127.0.0.1").
    outbound_allow: str = ""
    """Hosts or networks (comma-separated) outbound requests may reach although not global."""
    # How this deployment is reached from outside, for links in feeds.
    public_url: str | None = None
    """How this deployment is reached from outside (links in feeds and emails; unset: the request's)."""

    # Local stack (deploy/local) only.
    cache_dir: Path = Field(default_factory=_default_cache_dir, json_schema_extra={
        "shown_default": "`~/.cache/newsflow` (root: `/var/cache/newsflow`)"})
    """Local stack downloads and state."""
    es_heap: str = "768m"
    """Heap of the local Elasticsearch."""
    kafka_heap: str = "512m"
    """Heap of the local Kafka."""

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file",
                     "elasticsearch_ca_file", "kafka_sasl_password_file", "kafka_ssl_key_password_file",
                     "elasticsearch_api_key_file", "elasticsearch_password_file", "api_key_file",
                     "secrets_key_file", "elasticsearch_ca_fingerprint", "kafka_sasl_username",
                     "elasticsearch_username", "ingest_url", "search_url", "monitor_url",
                     "smtp_host", "smtp_username", "smtp_password_file", "smtp_ca_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`NEWSFLOW_KAFKA_SSL_CA_FILE=` unsets it (an empty path would be the current directory)."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _shard_within_shards(self) -> Settings:
        if self.shard >= self.shards:
            raise ValueError(f"NEWSFLOW_SHARD={self.shard} must be below NEWSFLOW_SHARDS={self.shards}")
        return self

    @model_validator(mode="after")
    def _secrets_from_files(self) -> Settings:
        for name in SECRET_FIELDS:
            path: Path | None = getattr(self, f"{name}_file")
            if getattr(self, name) is None and path is not None:
                try:
                    value = path.read_text().strip()
                except OSError as exc:
                    raise ValueError(f"NEWSFLOW_{name.upper()}_FILE={path}: {exc.strerror}") from None
                setattr(self, name, SecretStr(value))
        return self

    def client_url(self, service: Literal["ingest", "search", "monitor"]) -> str:
        """The base URL a client of ours uses for an API."""
        url: str | None = getattr(self, f"{service}_url")
        if url:
            return url.rstrip("/")
        host: str = getattr(self, f"{service}_host")
        port: int = getattr(self, f"{service}_port")
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])

    @property
    def elasticsearch_port(self) -> int:
        return urlparse(self.elasticsearch_url).port or 9200

    def _prefixed(self, name: str, sep: str) -> str:
        return f"{self.namespace}{sep}{name}" if self.namespace else name

    def topic(self, name: str) -> str:
        return self._prefixed(name, ".")

    def consumer_group(self, stage: str) -> str:
        return self._prefixed(f"newsflow-{stage}", ".")

    @property
    def index_alias(self) -> str:
        return self._prefixed("news", "-").lower()


@lru_cache
def get_settings() -> Settings:
    return Settings()
